"""Conferences on the PBX: server info, list, create/update/delete (each confirmed by its
Conf*Event), and joining a call to a conference."""

from __future__ import annotations

from mxproxy.mx import commands
from mxproxy.mx.client import MXClient
from mxproxy.mx.messages import (
    Conference,
    ConfServerInfo,
    parse_conf_event,
    parse_conf_list,
    parse_conf_server_info,
)
from mxproxy.mx.xml import Message, child_text


async def server_info(client: MXClient) -> ConfServerInfo:
    return parse_conf_server_info(await client.request(commands.conf_server_info()))


async def list_conferences(client: MXClient, owner_jid: str) -> list[Conference]:
    return list(parse_conf_list(await client.request(commands.conf_list(owner_jid))))


async def create(client: MXClient, conference: Conference) -> Conference:
    # The new conference has no id yet: recognise its event by the name the PBX received.
    name = commands.sendable(conference.name)

    def is_ours(message: Message) -> bool:
        return parse_conf_event(message).name == name

    answer = await client.request(
        commands.create_conference(conference), answer="ConfAddEvent", match=is_ours
    )
    return parse_conf_event(answer)


async def update(client: MXClient, conference: Conference) -> Conference:
    def is_ours(message: Message) -> bool:
        return parse_conf_event(message).id == conference.id

    answer = await client.request(
        commands.update_conference(conference), answer="ConfUpdEvent", match=is_ours
    )
    return parse_conf_event(answer)


async def delete(client: MXClient, conf_id: str) -> None:
    def is_ours(message: Message) -> bool:
        found = child_text(message.element, "confId")
        return not found or found == conf_id

    await client.request(commands.delete_conference(conf_id), answer="ConfDelEvent", match=is_ours)


async def join(client: MXClient, call_id: str, access_id: str) -> None:
    await client.request(commands.join_conference(call_id, access_id))
