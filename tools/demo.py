"""`make demo`: the platform doing its job on the public data set, in one command.

When a platform already answers at `make run`'s addresses, the demo loads into
it and leaves it running with the demo's data, so `customs` commands can be
tried on it afterwards. Otherwise it starts the five services on SQLite in
their own data directory (emptied first, so every run starts clean) and stops
them at the end. The identities it acts as are minted with `make run`'s
development key, which `.run/` keeps.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from declarations_dataset import dataset_directory
from rich.console import Console
from run_platform import (
    DEVELOPER_ROLES,
    SERVICES,
    prepare_credentials,
    start_platform,
    wait_until_serving,
)

from customs_client.demo import DemoOptions, run
from customs_kit.auth import Role, mint_token


def _running(host: str) -> bool:
    """Whether every service answers its health check at `make run`'s address."""
    deadline = time.monotonic() + 1.5
    return all(wait_until_serving(f"{host}:{s.port}", deadline) for s in SERVICES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--out", type=Path, default=Path("var/demo"))
    parser.add_argument("--run-dir", type=Path, default=Path(".run"))
    parser.add_argument("--days", type=int, default=90, help="Days of 2021 replayed.")
    parser.add_argument("--history-rows", type=int, default=0, help="0: all of 2020.")
    args = parser.parse_args(argv)
    console = Console(stderr=False)
    # A stopped demo (Ctrl-C or SIGTERM) still stops the platform it started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    began = time.monotonic()

    credentials, private_pem = prepare_credentials(args.run_dir)

    def token(subject: str, *roles: Role) -> str:
        return mint_token(private_pem, subject=subject, roles=list(roles or DEVELOPER_ROLES))

    tokens = {role: token(f"demo-{role}") for role in ("analyst", "approver", "supervisor")}
    addresses = {s.package: f"{args.host}:{s.port}" for s in SERVICES}
    # The setup runs `customs` commands in this process: they find the services
    # through the same variables a user's shell would set.
    for service in SERVICES:
        os.environ[f"CUSTOMS_{service.address_variable}"] = addresses[service.package]
    platform = None
    if _running(args.host):
        console.print(f"loading into the platform already running at {args.host}")
        if args.out.exists():
            shutil.rmtree(args.out)
    else:
        if args.out.exists():
            shutil.rmtree(args.out)
        data_dir = args.out / "platform"
        console.print(f"starting the platform on SQLite in {data_dir}")
        platform = start_platform(
            host=args.host,
            services=SERVICES,
            credentials=credentials,
            data_dir=data_dir,
            startup_timeout=120,
        )
    try:
        options = DemoOptions(
            dataset=dataset_directory(),
            out_dir=args.out,
            tokens=tokens,
            mint_inspector=lambda subject: token(subject, Role.OFFICER),
            addresses=addresses,
            days=args.days,
            history_rows=args.history_rows,
        )
        run(options, console)
    finally:
        if platform is not None:
            platform.stop()
    console.print(f"demo finished in {time.monotonic() - began:.0f} s; report in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
