"""Directory and history on the PBX: the address book (paged), the call log (a stream with
no end marker) and the service list."""

from __future__ import annotations

from mxproxy.mx import commands
from mxproxy.mx.client import MXClient
from mxproxy.mx.errors import MXTimeout
from mxproxy.mx.messages import (
    CallLogEntry,
    Contact,
    Service,
    parse_ablist,
    parse_call_log_chunk,
    parse_services,
)
from mxproxy.mx.xml import Message, attr

ADDRESS_BOOK_PAGE = 50
CALL_LOG_CHUNK = 21
_CALL_LOG_NAMES = ("callloginfo",)


async def address_book(client: MXClient) -> list[Contact]:
    """Every contact of the PBX directory, page by page (50 a page)."""
    contacts: list[Contact] = []
    index = 0
    while True:
        page = parse_ablist(await _address_book_page(client, index))
        contacts.extend(page.contacts)
        index += 1
        if not page.contacts or index * ADDRESS_BOOK_PAGE >= page.size:
            return contacts


async def _address_book_page(client: MXClient, index: int) -> Message:
    wanted = str(index)

    def is_page(message: Message) -> bool:
        return attr(message.element, "index", wanted) == wanted

    return await client.request(
        commands.address_book(index), answer="ablist", match=is_page, accept_by_id=True
    )


async def call_log(client: MXClient, since: int = -1) -> list[CallLogEntry]:
    """The user's call log after `since` (unix seconds; -1 for all).

    The PBX sends chunks of 21 and no end marker: a shorter chunk is the last one; after a
    full chunk, a short idle gap (`call_log_idle`) without a new chunk ends the log.
    """
    options = client.options
    entries: list[CallLogEntry] = []
    async with client.stream_lock(_CALL_LOG_NAMES):
        with client.open_stream(commands.call_log(since), _CALL_LOG_NAMES) as stream:
            chunk = parse_call_log_chunk(await stream.next(options.timeout))
            entries.extend(chunk)
            while len(chunk) >= CALL_LOG_CHUNK:
                try:
                    chunk = parse_call_log_chunk(await stream.next(options.call_log_idle))
                except MXTimeout:
                    break
                entries.extend(chunk)
    return entries


async def services(client: MXClient) -> list[Service]:
    """The PBX's services (auto attendants, park, voicemail, ACD groups, …)."""
    return list(parse_services(await client.request(commands.service_list())))


async def monitor_address_book(client: MXClient) -> None:
    """Ask the PBX to send Ab*Event messages whenever the directory changes."""
    await client.request(commands.monitor_start_ab())
