"""Conferences on the PBX: server info, list, create/update/delete (each answered by its
Conf*Event, matched by the connection), and joining a call to a conference."""

from __future__ import annotations

from mxproxy.mx import commands
from mxproxy.mx.messages import (
    Conference,
    ConfServerInfo,
    parse_conf_event,
    parse_conf_list,
    parse_conf_server_info,
)
from mxproxy.pbx.client import MXClient


async def server_info(client: MXClient) -> ConfServerInfo:
    return parse_conf_server_info(await client.request(commands.ConfServerInfo()))


async def list_conferences(client: MXClient, owner_jid: str) -> list[Conference]:
    return list(parse_conf_list(await client.request(commands.ConfList(owner_jid))))


async def create(client: MXClient, conference: Conference) -> Conference:
    return parse_conf_event(await client.request(commands.CreateConference(conference)))


async def update(client: MXClient, conference: Conference) -> Conference:
    return parse_conf_event(await client.request(commands.UpdateConference(conference)))


async def delete(client: MXClient, conf_id: str) -> None:
    await client.request(commands.DeleteConference(conf_id))


async def join(client: MXClient, call_id: str, access_id: str) -> None:
    await client.request(commands.JoinConference(call_id, access_id))
