"""A WAMP client written with Debian's python3-autobahn, run by interop.test.ts against gateway-wamp.

It subscribes, gets an event sent through gateway-http, publishes, calls and registers, sends integers past 2^53
and binary through a procedure of its own and over HTTP, then prints one JSON report of what it saw; the test asserts on that report. Arguments: ws-url realm serializer http-url
websocket-test-service greeting-service topic procedure. With MESH_AUTHID and MESH_TICKET in the environment it
joins with ticket authentication and reports the authid and authmethod of WELCOME.
"""
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import CallResult, PublishOptions

URL, REALM, SERIALIZER, HTTP_URL, WEBSOCKET_TEST, GREETING, TOPIC, PROCEDURE = sys.argv[1:9]
AUTHID, TICKET = os.environ.get("MESH_AUTHID"), os.environ.get("MESH_TICKET")


def post(procedure, body):
    request = urllib.request.Request(
        f"{HTTP_URL}/{procedure}", data=body.encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def shout(*args, **kwargs):
    return CallResult(args[0].upper(), seen=kwargs)


# Integers past 2^53 up to the 64-bit edges, and binary: they must come back exactly, of the same Python types.
EXACT = [2**53, -(2**53), 2**60, 2**63 - 1, -(2**63), 2**64 - 1, b"\xff\xfe", b""]


def echo(*args):
    return CallResult(*args, types=[type(arg).__name__ for arg in args])


class Client(ApplicationSession):
    def onConnect(self):
        if TICKET:
            self.join(REALM, ["ticket"], AUTHID)
        else:
            self.join(REALM)

    def onChallenge(self, challenge):
        return TICKET

    async def onJoin(self, details):
        try:
            report = await self.scenario()
            if TICKET:
                report = {"serializer": report.pop("serializer"), "authid": details.authid, "authmethod": details.authmethod, **report}
            print(json.dumps(report))
        except Exception as err:  # the report says what failed; the test shows it
            print(json.dumps({"error": repr(err)}))
        self.leave()

    async def scenario(self):
        loop = asyncio.get_running_loop()
        report = {"serializer": SERIALIZER}
        event = loop.create_future()

        def on_event(*args, **kwargs):
            if not event.done():
                event.set_result([list(args), kwargs])

        await self.subscribe(on_event, f"{WEBSOCKET_TEST}.websocket_test")
        await loop.run_in_executor(None, post, f"{WEBSOCKET_TEST}.hello_websocket", '[["websockets"], {"are": "awesome"}]')
        report["event"] = await asyncio.wait_for(event, 10)
        await self.publish(TOPIC, "from", "python", serializer=SERIALIZER, options=PublishOptions(acknowledge=True))
        report["call"] = await self.call(f"{GREETING}.hello", "Bob", last_name="Ross")
        await self.register(shout, PROCEDURE)
        status, body = await loop.run_in_executor(None, post, PROCEDURE, '[["hey"], {"via": "http"}]')
        report["http_call"] = {"status": status, "body": body}
        await self.register(echo, f"{PROCEDURE}_echo")
        result = await self.call(f"{PROCEDURE}_echo", *EXACT)
        report["exact"] = {"same": list(result.results) == EXACT, "types": result.kwresults["types"]}
        status, body = await loop.run_in_executor(None, post, f"{PROCEDURE}_echo", '[[18446744073709551615, "\\u0000//4="], {}]')
        report["exact_http"] = {"status": status, "body": body}
        return report

    def onDisconnect(self):
        asyncio.get_event_loop().stop()


serializer = JsonSerializer() if SERIALIZER == "json" else MsgPackSerializer()
ApplicationRunner(URL, REALM, serializers=[serializer]).run(Client, log_level="error")
