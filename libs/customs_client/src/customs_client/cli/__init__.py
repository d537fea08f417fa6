"""The `customs` command line: the platform's daily work without writing gRPC code.

Every command reads the token from ``CUSTOMS_TOKEN`` (else the developer token
`make run` wrote) and the services' addresses from ``CUSTOMS_<SERVICE>_ADDR``
(else `make run`'s ports). A refused call prints its reason and the fields at
fault on stderr and exits 1; a file or argument that cannot be used exits 2
before anything is sent.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from customs_client.cli import (
    assess,
    compliance,
    criteria,
    events,
    examinations,
    reference_data,
    referrals,
    reports,
    risk_model,
    selection,
)
from customs_client.cli.common import InputError, error_console
from customs_client.config import ConfigurationError
from customs_client.declarations import DatasetError
from customs_client.errors import CustomsError

#: Exit code of a call the platform refused.
EXIT_REFUSED = 1
#: Exit code of input the command could not use (nothing was sent).
EXIT_BAD_INPUT = 2


class _ReportingGroup(TyperGroup):
    """The root group: turns a refused call or unusable input into a message and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CustomsError as error:
            report_refusal(error)
            raise typer.Exit(EXIT_REFUSED) from None
        except (InputError, DatasetError, ConfigurationError) as error:
            error_console.print(f"error: {error}", highlight=False, markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None


def report_refusal(error: CustomsError) -> None:
    """Prints the code, the ErrorInfo reason, the message and each field or state at fault."""
    error_console.print(f"error: {error}", highlight=False, markup=False)


app = typer.Typer(
    cls=_ReportingGroup,
    help=(
        "Work with the cargo selectivity platform: criteria, examinations, reference data,"
        " compliance, audit and the committee's reports."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("assess")(assess.assess)
app.add_typer(criteria.profiles, name="profiles")
app.add_typer(criteria.criteria, name="criteria")
app.add_typer(criteria.lists, name="lists")
app.add_typer(examinations.examinations, name="examinations")
app.add_typer(reference_data.offices, name="offices")
app.add_typer(reference_data.officers, name="officers")
app.add_typer(reference_data.shifts, name="shifts")
app.add_typer(selection.rates, name="rates")
app.add_typer(selection.capacity, name="capacity")
app.add_typer(compliance.traders, name="traders")
app.add_typer(compliance.measurements, name="measurements")
app.add_typer(compliance.sampling_plans, name="sampling-plans")
app.add_typer(compliance.interventions, name="interventions")
app.add_typer(referrals.referrals, name="referrals")
app.add_typer(referrals.audit_cases, name="audit-cases")
app.add_typer(reports.report, name="report")
app.add_typer(risk_model.history, name="history")
app.add_typer(risk_model.model, name="model")
app.add_typer(events.events, name="events")


def main() -> None:
    """The ``customs`` console script."""
    app()
