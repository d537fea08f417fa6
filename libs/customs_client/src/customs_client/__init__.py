"""A typed client of the cargo selectivity platform, and the `customs` command line on it.

``CustomsClient`` opens token-carrying channels to the five services (with
retries of UNAVAILABLE and deadlines), ``paginate`` walks a listing page by
page, ``CustomsError`` carries a failed call's ``ErrorInfo`` reason and
``BadRequest`` field violations, and ``read_declarations_csv`` turns a CSV in
the public data set's columns into ``Declaration`` messages.
"""

from customs_client.channels import ClientTls, CustomsClient, open_channel
from customs_client.config import ConfigurationError, load_token, service_address
from customs_client.declarations import DatasetError, read_declarations_csv
from customs_client.errors import CustomsError, FieldViolation, PreconditionViolation
from customs_client.pagination import paginate

__all__ = [
    "ClientTls",
    "ConfigurationError",
    "CustomsClient",
    "CustomsError",
    "DatasetError",
    "FieldViolation",
    "PreconditionViolation",
    "load_token",
    "open_channel",
    "paginate",
    "read_declarations_csv",
    "service_address",
]
