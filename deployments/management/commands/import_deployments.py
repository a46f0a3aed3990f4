"""`manage.py import_deployments FILE [FILE ...] [--project KEY]`."""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments.transfer import ImportFailed, deployments_import

# Enough to see the pattern of a bad file without scrolling past the summary.
MAX_ERRORS_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Imports LaunchDarkly deployment JSON (a DeploymentCollectionRep with pullRequests "
        "and flagReferences expanded, a list of them, a list of DeploymentReps, or one "
        "DeploymentRep). Each file is imported whole or not at all; ids are kept, so "
        "importing a file again updates the same deployments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="a JSON file; - reads stdin")
        parser.add_argument(
            "--project",
            default="default",
            help="the LaunchDarkly project the deployments belong to (default: %(default)s); "
            "LaunchDarkly's JSON does not say",
        )

    def handle(self, *args: Any, files: list[str], project: str, **options: Any) -> None:
        if not project.strip():
            raise CommandError("--project must not be empty")
        failed = []
        for name in files:
            label = "<stdin>" if name == "-" else name
            try:
                result = deployments_import(content=_read(name), project_key=project)
            except ImportFailed as error:
                failed.append(label)
                for message in error.errors[:MAX_ERRORS_SHOWN]:
                    self.stderr.write(f"{label}: {message}")
                if len(error.errors) > MAX_ERRORS_SHOWN:
                    self.stderr.write(f"{label}: and {len(error.errors) - MAX_ERRORS_SHOWN} more")
                continue
            if result.deployments == 0:
                self.stdout.write(f"{label}: no deployments in the file, nothing imported")
            else:
                noun = "deployment" if result.deployments == 1 else "deployments"
                self.stdout.write(
                    f"{label}: {result.deployments} {noun} "
                    f"({result.created} created, {result.updated} updated)"
                )
        if failed:
            raise CommandError(
                f"not imported (nothing from it was written): {', '.join(failed)}"
                if len(failed) == 1
                else f"{len(failed)} of {len(files)} files not imported "
                f"(nothing from them was written): {', '.join(failed)}"
            )


def _read(name: str) -> bytes:
    # Bytes, not text: json.loads detects UTF-8/16/32 and a UTF-8 byte-order mark itself.
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise ImportFailed([f"cannot read the file: {error.strerror}"]) from error
