"""The help text: what ATOM can do and how to ask."""

from __future__ import annotations

from typing import Any

EXAMPLES = [
    "When a new GitHub issue is opened in acme/api, create a Trello card in the Inbox list "
    "and post a message to #dev",
    "Every weekday at 9am post “Stand-up time!” in #team",
    "Schedule a team meeting next Tuesday at 10am with alice@example.com",
]

COMMANDS = [
    ("/atom <request>", "plan a workflow from what you write"),
    ("/atom help", "this message"),
    ("/atom list", "your workflows"),
    ("/atom show <id>", "one workflow and its trigger"),
    ("/atom runs [<id>]", "recent runs"),
    ("/atom pause <id> · resume <id> · delete <id>", "control a workflow"),
    ("/atom edit <id> <change>", "change a workflow (or reply in its thread)"),
    ("/atom history <id> · rollback <id> <version>", "versions of a workflow"),
    ("/atom connect <service> · connections · disconnect <service>", "your accounts"),
    ("/atom cancel <run>", "stop a run"),
    ("/atom settings · settings timezone <zone>", "your time zone (default: your Slack profile's)"),
]


def help_blocks(intro: str | None = None) -> list[dict[str, Any]]:
    command_lines = "\n".join(f"• `{usage}` — {what}" for usage, what in COMMANDS)
    example_lines = "\n".join(f"• _{example}_" for example in EXAMPLES)
    blocks: list[dict[str, Any]] = []
    if intro:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": intro}})
    blocks += [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    "*I turn requests into workflows across GitHub, Google Calendar, Gmail, "
                    "Drive, Slack, Trello, Asana and Dropbox.* Tell me what should happen and "
                    "when — in a DM, with `/atom`, or as a voice note — and I'll show you the "
                    "plan to approve."
                ),
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Try:*\n{example_lines}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Commands:*\n{command_lines}"}},
    ]
    return blocks


HELP_TEXT = "ATOM turns requests into workflows. Try `/atom help`."
