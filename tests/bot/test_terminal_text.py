"""What the shell prints for Slack markup: what the Slack client would draw."""

from __future__ import annotations

from cli.terminal_text import BOLD_OFF, BOLD_ON, Directory, to_terminal

DIRECTORY = Directory(people={"U0ALICE001": "alice"}, channels={"C0DEV00000": "dev"})


def test_mentions_and_channels_become_names() -> None:
    text = "Approved by <@U0ALICE001> · posted in <#C0DEV00000> and <#C0OPS00000|ops>"
    assert to_terminal(text, DIRECTORY) == "Approved by @alice · posted in #dev and #ops"


def test_unknown_ids_stay_readable_and_special_mentions_keep_their_word() -> None:
    assert to_terminal("<@U0NOBODY1> <!here>", DIRECTORY) == "@U0NOBODY1 @here"


def test_links_show_label_and_address() -> None:
    text = "<https://github.com/acme/api/issues/3|acme/api#3> <https://example.com>"
    assert to_terminal(text, DIRECTORY) == (
        "acme/api#3 (https://github.com/acme/api/issues/3) https://example.com"
    )


def test_emoji_shortcodes_become_characters_and_unknown_ones_stay() -> None:
    assert to_terminal(":white_check_mark: done :no_such_emoji:", DIRECTORY) == (
        "✅ done :no_such_emoji:"
    )


def test_bold_is_drawn_only_when_styled_and_code_is_left_alone() -> None:
    text = "*Overwrites* `*not bold*` 2*3*4 &lt;ok&gt;"
    assert to_terminal(text, DIRECTORY) == "Overwrites `*not bold*` 2*3*4 <ok>"
    assert to_terminal(text, DIRECTORY, styled=True).startswith(f"{BOLD_ON}Overwrites{BOLD_OFF}")
