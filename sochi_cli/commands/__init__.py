"""Typer front-end: one module per noun, each exposing `register(app)`. Thin by rule.

`COMMANDS` lists every top-level command with the module that registers it and the line
`sochi --help` shows, so the help and the dispatch of one command import only that
command's module (tests/foundation/test_command_table.py keeps this table honest).
A module's import must stay light: heavy imports belong inside the command functions.
"""

from typing import NamedTuple


class CommandEntry(NamedTuple):
    module: str  # sochi_cli.commands.<module>
    panel: str  # section of `sochi --help`
    help: str  # the command's one-line help, as its module declares it


_FILING = "Filing"
_OPERATOR = "Operator"
_KEYS = "Keys and certificates"
_LOCAL = "Your own records"
_SETUP = "Setup and help"

COMMANDS: dict[str, CommandEntry] = {
    "submit": CommandEntry(
        "submit_cmd",
        _FILING,
        "Validate, sign (one token session), send and follow reports; rerun to resume.",
    ),
    "validate": CommandEntry(
        "forms_cmd",
        _FILING,
        "Check report files against the cached form schema before signing (clause 6.3).",
    ),
    "due": CommandEntry(
        "due_cmd",
        _FILING,
        "What is due, for whom, by when: every client's forms, periods, deadlines and states.",
    ),
    "sign": CommandEntry(
        "sign_cmd",
        _FILING,
        "Sign each FILE into FILE.p7s (detached CMS, CAdES-BES), all in one token session.",
    ),
    "verify": CommandEntry(
        "verify_cmd",
        _FILING,
        "Run clause 8 (8.2.1–8.2.7, 8.3, 8.4): identify, verify, time, chain, validity, CRL.",
    ),
    "submissions": CommandEntry(
        "submissions_cmd",
        _FILING,
        "Submissions filed at the operator: states, receipts, protocols (clause 16).",
    ),
    "events": CommandEntry(
        "events_cmd",
        _FILING,
        "Submission state changes and new inbox items, in order, as they come.",
    ),
    "inbox": CommandEntry(
        "inbox_cmd",
        _FILING,
        "Notices and requests from agencies; acknowledging sends a signed receipt.",
    ),
    "login": CommandEntry(
        "login_cmd",
        _OPERATOR,
        "Log in to the operator by signing a challenge with your key; keeps the session.",
    ),
    "logout": CommandEntry(
        "login_cmd",
        _OPERATOR,
        "End the session at the operator and delete the stored tokens of this profile.",
    ),
    "whoami": CommandEntry(
        "login_cmd",
        _OPERATOR,
        "Who the session belongs to, confirmed by the operator (refreshes if needed).",
    ),
    "status": CommandEntry(
        "status_cmd",
        _OPERATOR,
        "Is the operator up, when is the next maintenance window, and is my clock right?",
    ),
    "account": CommandEntry(
        "account_cmd",
        _OPERATOR,
        "Your account: requisites (clause 4.3.11), balance, charges and tariffs.",
    ),
    "clients": CommandEntry(
        "clients_cmd",
        _OPERATOR,
        "Taxpayers you represent and their powers of attorney (clauses 3.2, 4.3.10).",
    ),
    "poa": CommandEntry("clients_cmd", _OPERATOR, "Powers of attorney of your clients."),
    "forms": CommandEntry(
        "forms_cmd", _OPERATOR, "The operator's catalogue of report forms (cached locally)."
    ),
    "access": CommandEntry(
        "access_cmd",
        _OPERATOR,
        "Access to the operator from outside Kyrgyzstan (clauses 3.5–3.6).",
    ),
    "cert": CommandEntry(
        "cert_cmd",
        _KEYS,
        "Your signing certificate: details, chain to the Main CA, expiry and renewal.",
    ),
    "token": CommandEntry(
        "token_cmd",
        _KEYS,
        "PKCS#11 tokens: list them, their keys and certificates; import a dev PKCS#12.",
    ),
    "crl": CommandEntry(
        "crl_cmd",
        _KEYS,
        "Fetch and show the certificate revocation list (CRL, clauses 8.2.7 and 8.3).",
    ),
    "batch": CommandEntry(
        "batch_cmd",
        _LOCAL,
        "Batches of submissions: list them, show one, export its outcome report.",
    ),
    "archive": CommandEntry(
        "archive_cmd",
        _LOCAL,
        "Your own archive of reports, signatures, receipts and protocols.",
    ),
    "audit": CommandEntry(
        "audit_cmd",
        _LOCAL,
        "The hash-chained audit log: who did what, when, with which certificate.",
    ),
    "backup": CommandEntry(
        "backup_cmd",
        _LOCAL,
        "Write the profile's journal and archive to one file (safe while a batch runs).",
    ),
    "restore": CommandEntry(
        "backup_cmd",
        _LOCAL,
        "Verify a backup file, then put its journal and archive back (or --check only).",
    ),
    "doctor": CommandEntry(
        "doctor_cmd",
        _SETUP,
        "Find why a filing does not go through: each finding names its clause and its fix.",
    ),
    "tui": CommandEntry(
        "tui_cmd",
        _SETUP,
        "Full-screen terminal UI: dashboard, clients, submissions, filing, inbox, certificates.",
    ),
    "config": CommandEntry("config_cmd", _SETUP, "Show and change configuration and profiles."),
    "support": CommandEntry(
        "support_cmd",
        _SETUP,
        "Call centre, hours (Asia/Bishkek) and portal; no network needed.",
    ),
    "sandbox": CommandEntry(
        "sandbox_cmd",
        _SETUP,
        "Run and manage the local sandbox operator (the embedded default).",
    ),
    "demo": CommandEntry(
        "demo_cmd",
        _SETUP,
        "Start a sandbox, file 7 reports of 6 clients with --wait, verify receipts, export, stop.",
    ),
}

__all__ = ["COMMANDS", "CommandEntry"]
