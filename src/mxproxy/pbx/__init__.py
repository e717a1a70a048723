"""The PBX side of the proxy with I/O: the asyncio MX client (`client`) and the operations
per resource (`directory`, `calls`, `voicemail`, `conferences`) that build typed commands
from `mxproxy.mx.commands`, await their answers and parse them into `mxproxy.mx.messages`."""
