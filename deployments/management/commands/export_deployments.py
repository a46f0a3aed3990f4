"""`manage.py export_deployments [--project P] [--environment E] [--application A]
[--output FILE|-]`."""

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments.transfer import ExportResult, deployments_export


class Command(BaseCommand):
    help = (
        "Writes cached deployments as LaunchDarkly JSON: one DeploymentCollectionRep, every "
        "item with pullRequests, flagReferences and leadTimeStages, newest first. "
        "import_deployments reads it back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", help="only this project (default: every project)")
        parser.add_argument("--environment", help="only this environment")
        parser.add_argument("--application", help="only these applications (comma-separated keys)")
        parser.add_argument(
            "--output", "-o", default="-", help="file to write (default: - for stdout)"
        )

    def handle(
        self,
        *args: Any,
        project: str | None,
        environment: str | None,
        application: str | None,
        output: str,
        **options: Any,
    ) -> None:
        applications = [key.strip() for key in (application or "").split(",") if key.strip()]
        filters: dict[str, Any] = {
            "project_key": project,
            "environment_key": environment,
            "application_keys": applications,
        }
        if output == "-":
            result = deployments_export(stream=self.stdout, **filters)
            # stdout holds the document, so the summary goes to stderr, uncoloured.
            self.stderr.write(f"{_count(result)} exported", style_func=str)
        else:
            result = self._export_to_file(Path(output), filters)
            self.stdout.write(f"{output}: {_count(result)} exported")
        if len(result.project_keys) > 1:
            self.stderr.write(
                f"warning: the export holds deployments of {len(result.project_keys)} projects "
                f"({', '.join(sorted(result.project_keys))}); LaunchDarkly's JSON has no "
                "project key, so an import puts them all in its --project. "
                "Export one project at a time to keep them apart.",
                style_func=self.style.WARNING,
            )

    def _export_to_file(self, path: Path, filters: dict[str, Any]) -> ExportResult:
        # A failed export must not leave a truncated file where a good one is expected.
        partial = path.with_name(f".{path.name}.partial")
        try:
            with partial.open("w", encoding="utf-8", newline="\n") as stream:
                result = deployments_export(stream=stream, **filters)
            os.replace(partial, path)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"{path}: cannot write: {error.strerror or error}") from error
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return result


def _count(result: ExportResult) -> str:
    return f"{result.deployments} deployment{'' if result.deployments == 1 else 's'}"
