"""The Zultys MX client protocol: a sans-IO codec (frames, xml, commands, messages,
connection) and a thin asyncio client on top (client)."""
