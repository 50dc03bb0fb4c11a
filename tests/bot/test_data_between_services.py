"""Data between services, end to end through the sandbox: a request typed in a DM,
approved, and carried out against the emulators, with the bytes travelling as stored
files between the steps and the source left as it was."""

from __future__ import annotations

from bot.blocks.plan import APPROVE
from cli.sandbox_session import SandboxSession
from tests.bot.test_plans import preview_for, run_finished
from tests.bot.test_runs import approved
from tests.bot.test_seed_scenarios import first_poll

REPORT = b"%PDF-1.7\n" + bytes(range(256)) * 64  # binary: nothing may decode it as text


async def test_dropbox_to_drive_copy_runs_and_the_dropbox_file_is_unchanged(
    session: SandboxSession,
) -> None:
    dropbox, drive = session.emulator("dropbox"), session.emulator("google_drive")
    dropbox.add_file("/report.pdf", REPORT)
    before = dropbox.entries["/report.pdf"].metadata(tagged=False)

    preview = await preview_for(
        session.harness, "copy the existing report.pdf from my Dropbox into my Google Drive"
    )
    assert "Dropbox · download file" in preview.content
    assert "Google Drive · upload file" in preview.content
    assert "Overwrites" not in preview.content and "What should the file contain" not in (
        preview.content
    )
    await session.harness.click(preview, APPROVE)
    status = await run_finished(session.harness)
    assert "Run done" in status.content, status.content

    copies = [f for f in drive.drive_files.values() if f["name"] == "report.pdf"]
    assert len(copies) == 1 and drive.file_contents[copies[0]["id"]] == REPORT
    assert copies[0]["mimeType"] == "application/pdf"
    assert dropbox.read("/report.pdf") == REPORT
    assert dropbox.entries["/report.pdf"].metadata(tagged=False) == before


async def test_a_copy_that_replaces_says_so_in_bold_before_approval(
    session: SandboxSession,
) -> None:
    preview = await preview_for(
        session.harness, "copy budget.xlsx from Google Drive to Dropbox /Finance and replace it"
    )
    assert "*Overwrites /Finance/budget.xlsx if it exists*" in preview.content


async def test_email_attachments_are_saved_to_dropbox_one_file_each(
    session: SandboxSession,
) -> None:
    dropbox, gmail = session.emulator("dropbox"), session.emulator("gmail")
    dropbox.add_file("/Invoices/invoice-1042.pdf", b"an older invoice")
    done = await approved(session.harness, "save email attachments to Dropbox /Invoices")
    assert "I'm watching for it now" in done.content
    await first_poll(session)

    gmail.deliver(
        sender="billing@example.com",
        subject="Invoice 1042",
        body="Attached.",
        attachments=[
            ("invoice-1042.pdf", "application/pdf", REPORT),
            ("terms.txt", "text/plain", b"Pay within 30 days."),
        ],
    )
    status = await run_finished(session.harness, timeout=30)
    assert "Run done" in status.content, status.content
    assert dropbox.read("/Invoices/invoice-1042 (1).pdf") == REPORT  # renamed, not replaced
    assert dropbox.read("/Invoices/invoice-1042.pdf") == b"an older invoice"
    assert dropbox.read("/Invoices/terms.txt") == b"Pay within 30 days."


async def test_an_email_from_the_ceo_is_forwarded_with_its_attachment(
    session: SandboxSession,
) -> None:
    gmail = session.emulator("gmail")
    done = await approved(
        session.harness, "When I get an email from ceo@example.com, forward it to bob@example.com"
    )
    assert "I'm watching for it now" in done.content
    await first_poll(session)

    gmail.deliver(
        sender="ceo@example.com",
        subject="Board deck",
        body="Draft attached.",
        attachments=[("deck.pdf", "application/pdf", REPORT)],
    )
    status = await run_finished(session.harness, timeout=30)
    assert "Run done" in status.content, status.content
    forward = gmail.sent[-1]
    assert forward.addresses("To") == ["bob@example.com"]
    assert forward.headers["Subject"] == "Fwd: Board deck"
    assert "Draft attached." in forward.text
    assert [p.get_payload(decode=True) for p in forward.parsed.iter_attachments()] == [REPORT]
