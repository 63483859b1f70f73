"""`sochi sandbox serve|reset|seed|sample-reports` — the embedded sandbox operator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sochi_cli.commands._context import app_context
from sochi_cli.commands._output import ForceOpt, refuse_existing

sandbox_app = typer.Typer(
    help="Run and manage the local sandbox operator (the embedded default).",
    no_args_is_help=True,
    epilog="Examples:\n\n  sochi sandbox serve --seed demo\n\n"
    "  sochi sandbox serve --port 0 --seed demo --json\n\n"
    "  sochi sandbox sample-reports --out reports --clients 50 --invalid 3\n\n"
    "  sochi sandbox reset --yes\n\n"
    "  sochi sandbox reset --seed empty --yes\n\n"
    "  sochi sandbox seed",
)

HistoryOpt = Annotated[
    bool,
    typer.Option(
        "--history/--no-history",
        help="Seed the demo with three months of filings (what `sochi due` shows).",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Sandbox data directory [default: DATA_DIR/sandbox]."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")


def _data_dir(value: Path | None) -> Path:
    from sochi_cli.store import paths

    return value if value is not None else paths.data_dir() / "sandbox"


def _check_seed(seed: str | None) -> str | None:
    from sochi_cli.errors import UsageError

    if seed not in (None, "demo", "empty"):
        raise UsageError(f"unknown seed {seed!r}", hint="use --seed demo or --seed empty")
    return None if seed == "empty" else seed


@sandbox_app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback only by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port; 0 picks a free one [default: 8788].")
    ] = None,
    data_dir: DataDir = None,
    seed: Annotated[str | None, typer.Option(help="Seed an empty database: demo or empty.")] = None,
    bulk_clients: Annotated[
        int | None, typer.Option(help="Generated clients in the demo seed [default: 12].", min=0)
    ] = None,
    allow_remote: Annotated[bool, typer.Option(help="Allow a non-loopback --host.")] = False,
    history: HistoryOpt = True,
) -> None:
    """Serve the operator API until Ctrl-C / SIGTERM; prints the base URL when ready."""
    import os

    from sochi_cli.sandbox.server import serve as run
    from sochi_cli.store.config import SANDBOX_DEFAULT_PORT

    app = app_context(ctx)
    directory = _data_dir(data_dir)

    def ready(url: str) -> None:
        data = {
            "url": url,
            "api_url": f"{url}/api/v1",
            "pid": os.getpid(),
            "data_dir": str(directory),
        }
        if app.out.json_mode:
            app.out.json(data)
        else:
            app.out.line(f"{url}/api/v1")
            app.out.stdout.flush()
            app.out.info(f"sandbox operator ready (data: {directory}); Ctrl-C stops it")

    run(
        directory,
        host=host,
        port=SANDBOX_DEFAULT_PORT if port is None else port,
        seed=_check_seed(seed),
        bulk_clients=bulk_clients,
        allow_remote=allow_remote,
        history=history,
        on_ready=ready,
    )


@sandbox_app.command("reset")
def reset(
    ctx: typer.Context,
    data_dir: DataDir = None,
    seed: Annotated[str, typer.Option(help="Seed after wiping: demo or empty.")] = "demo",
    bulk_clients: Annotated[int | None, typer.Option(min=0, help="Generated demo clients.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    history: HistoryOpt = True,
) -> None:
    """Wipe the sandbox database (the PKI stays) and seed it again."""
    from sochi_cli.commands._prompts import confirm
    from sochi_cli.errors import Interrupted
    from sochi_cli.sandbox.seed import DEFAULT_BULK_CLIENTS, seed_demo
    from sochi_cli.sandbox.state import Sandbox

    app = app_context(ctx)
    directory = _data_dir(data_dir)
    chosen = _check_seed(seed)
    if not confirm(f"Wipe the sandbox data in {directory}?", assume_yes=yes):
        raise Interrupted("reset cancelled")
    sandbox = Sandbox(directory)
    try:
        sandbox.db.wipe()
        if chosen == "demo":
            seed_demo(
                sandbox,
                bulk_clients=DEFAULT_BULK_CLIENTS if bulk_clients is None else bulk_clients,
                history=history,
            )
    finally:
        sandbox.close()
    app.out.result(
        {"data_dir": str(directory), "seed": chosen or "empty"},
        lambda: app.out.info(f"sandbox reset ({chosen or 'empty'}) in {directory}"),
    )


@sandbox_app.command("seed")
def seed_cmd(
    ctx: typer.Context,
    data_dir: DataDir = None,
    bulk_clients: Annotated[int | None, typer.Option(min=0, help="Generated demo clients.")] = None,
    history: HistoryOpt = True,
) -> None:
    """Load the demo data set into an empty sandbox database."""
    from sochi_cli.errors import UsageError
    from sochi_cli.sandbox.seed import DEFAULT_BULK_CLIENTS, demo_facts, seed_demo
    from sochi_cli.sandbox.state import Sandbox

    app = app_context(ctx)
    directory = _data_dir(data_dir)
    sandbox = Sandbox(directory)
    try:
        with sandbox.db.read() as conn:
            accounts = conn.execute("SELECT COUNT(*) FROM accounts").fetchone()[0]
        if accounts:
            raise UsageError(
                f"the sandbox in {directory} already holds data",
                hint="`sochi sandbox reset --yes` wipes it and seeds the demo again",
            )
        seed_demo(
            sandbox,
            bulk_clients=DEFAULT_BULK_CLIENTS if bulk_clients is None else bulk_clients,
            history=history,
        )
    finally:
        sandbox.close()
    facts = demo_facts(directory) or {}
    app.out.result(facts, lambda: app.out.line((directory / "demo" / "README.txt").read_text()))


@sandbox_app.command("sample-reports")
def sample_reports(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the XML files to.")],
    clients: Annotated[
        int, typer.Option(min=0, max=100_000, help="Reports (one per generated demo client).")
    ] = 10,
    invalid: Annotated[int, typer.Option(min=0, help="How many of them to break on purpose.")] = 0,
    rejected: Annotated[
        int,
        typer.Option(
            min=0,
            help="Extra reports that pass local checks and are rejected by the agency "
            "(not registered, before the registration, figures disagree, inactive taxpayer).",
        ),
    ] = 0,
    form: Annotated[str, typer.Option(help="Form code.")] = "STI-077",
    period: Annotated[
        str | None, typer.Option(help="Period (default: the last one ended).")
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            help="The sandbox's date, YYYY-MM-DD, when its clock was moved (default: today "
            "in Bishkek): decides which periods have ended and so each file's outcome.",
        ),
    ] = None,
    data_dir: DataDir = None,
    force: ForceOpt = False,
) -> None:
    """Write realistic report XML for the demo's seeded clients, and samples.json: a manifest
    (`sochi submit --manifest samples.json`) with every file's expected outcome."""
    from collections import Counter
    from datetime import date

    from sochi_cli.errors import UsageError
    from sochi_cli.sandbox.catalogue import FORMS_BY_CODE
    from sochi_cli.sandbox.samples import REJECTION_ROUNDS, REJECTIONS, SAMPLES_FILE, write_samples
    from sochi_cli.sandbox.seed import DEFAULT_BULK_CLIENTS, demo_facts
    from sochi_cli.store.files import own_file

    app = app_context(ctx)
    if form.upper() not in FORMS_BY_CODE:
        raise UsageError(f"unknown form {form!r}", hint="one of " + ", ".join(FORMS_BY_CODE))
    if invalid > clients:
        raise UsageError("--invalid cannot exceed --clients")
    if clients + rejected == 0:
        raise UsageError("nothing to write", hint="give --clients N and/or --rejected N")
    directory = _data_dir(data_dir)
    facts = demo_facts(directory)
    if facts is None:
        app.out.info(
            f"no demo seed in {directory}: assuming the default one ({DEFAULT_BULK_CLIENTS} "
            "generated clients, seeded today, with history)"
        )
        facts = {"clients": {"bulk": {"count": DEFAULT_BULK_CLIENTS}}, "history": True}
    seeded = int(facts["clients"]["bulk"]["count"])
    if clients > seeded:
        raise UsageError(
            f"--clients {clients}: the sandbox in {directory} has {seeded} generated clients",
            hint=f"write at most {seeded}, or reseed: `sochi sandbox reset --bulk-clients "
            f"{clients} --yes`",
        )
    most = len(REJECTIONS) * REJECTION_ROUNDS
    if rejected > most:
        raise UsageError(f"--rejected {rejected}: at most {most} (each rule has distinct targets)")
    if rejected and (seeded < 11 or not facts.get("history", True)):
        raise UsageError(
            "--rejected needs the demo seed with its filing history and at least 11 clients",
            hint="`sochi sandbox reset --seed demo --history --yes`",
        )
    if period is not None:
        from sochi_cli.sandbox.reports import period_bounds

        periodicity = FORMS_BY_CODE[form.upper()]["periodicity"]
        if period_bounds(period, periodicity) is None:
            raise UsageError(
                f"--period {period!r} does not fit a {periodicity} form",
                hint="YYYY-MM, YYYY-Qn or YYYY",
            )
    if today is None:
        from sochi_cli.timeutil import to_bishkek, utcnow

        day = to_bishkek(utcnow()).date()
    else:
        from sochi_cli.commands._operator import parse_date

        day = parse_date(today, "--today")
    if not force:  # the arguments first, then what is already there
        refuse_existing(out)
    seeded_on = date.fromisoformat(facts["seeded_on"]) if facts.get("seeded_on") else None
    with own_file(out, "sample reports", hint="choose a writable --out folder"):
        samples = write_samples(
            out,
            clients=clients,
            invalid=invalid,
            rejected=rejected,
            form_code=form.upper(),
            period=period,
            today=day,
            seeded_on=seeded_on,
            history=bool(facts.get("history", True)),
        )
    outcomes = Counter(s.expected for s in samples)
    data = {
        "out": str(out),
        "files": len(samples),
        "invalid": sum(1 for s in samples if s.broken in ("totals", "missing_field")),
        "rejected": outcomes["rejected"],
        "expected": dict(sorted(outcomes.items())),
        "corrections": sum(1 for s in samples if s.correction),
        "manifest": str(out / SAMPLES_FILE),
    }
    said = {
        "accepted": "to be accepted",
        "invalid": "stopped by sochi before signing",
        "rejected": "to be rejected by the agency",
    }
    corrections = (
        f"; {data['corrections']} are corrections (the seed's history holds the original)"
        if data["corrections"]
        else ""
    )
    app.out.result(
        data,
        lambda: app.out.info(
            f"wrote {len(samples)} reports to {out}: "
            + ", ".join(f"{n} {said[state]}" for state, n in sorted(outcomes.items()))
            + f"{corrections}. Each file's expected outcome: {out / SAMPLES_FILE} (a manifest "
            "for `sochi submit --manifest`)"
        ),
    )
