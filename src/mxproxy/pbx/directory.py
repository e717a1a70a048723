"""Directory and history on the PBX: the address book (paged), the call log (a stream whose
end the connection decides) and the service list."""

from __future__ import annotations

from mxproxy.mx import commands
from mxproxy.mx.messages import (
    CallLogEntry,
    Contact,
    Service,
    parse_ablist,
    parse_call_log_chunk,
    parse_services,
)
from mxproxy.pbx.client import MXClient

ADDRESS_BOOK_PAGE = 50
CALL_LOG_CHUNK = commands.CALL_LOG_CHUNK


async def address_book(client: MXClient) -> list[Contact]:
    """Every contact of the PBX directory, page by page (50 a page)."""
    contacts: list[Contact] = []
    index = 0
    while True:
        page = parse_ablist(await client.request(commands.AddressBookPage(index)))
        contacts.extend(page.contacts)
        index += 1
        if not page.contacts or index * ADDRESS_BOOK_PAGE >= page.size:
            return contacts


async def call_log(client: MXClient, since: int = -1) -> list[CallLogEntry]:
    """The user's call log after `since` (unix seconds; -1 for all): every chunk until the
    connection ends the stream (a short chunk, or the idle gap after a full one)."""
    entries: list[CallLogEntry] = []
    async with client.stream_lock(commands.CallLog):
        with client.open_stream(commands.CallLog(since)) as stream:
            while (chunk := await stream.next()) is not None:
                entries.extend(parse_call_log_chunk(chunk))
    return entries


async def services(client: MXClient) -> list[Service]:
    """The PBX's services (auto attendants, park, voicemail, ACD groups, …)."""
    return list(parse_services(await client.request(commands.ServiceList())))


async def monitor_address_book(client: MXClient) -> None:
    """Ask the PBX to send Ab*Event messages whenever the directory changes."""
    await client.request(commands.MonitorStartAb())
