"""The post-clearance audit service: referrals from scoring's BLUE channel, examination
findings, criteria monitoring and the compliance specialist; audit cases that follow the
handbook's appendix 7 from notice to corrective action; and their findings.
"""
