"""Advanced Profile features with Debian's python3-autobahn, run by interop-advanced.test.ts against gateway-wamp.

It calls a mesh generator with on_progress, cancels a call to its own procedure (which hears INTERRUPT as a
cancelled coroutine), asks the meta API about sessions and its registration, and registers a procedure that
reports who called it (CallDetails.caller), and a prefix and a wildcard registration that report the procedure
called (CallDetails.procedure). It prints {"ready": ...} once registered, waits for a line on stdin
(the test calls that procedure meanwhile), then prints one JSON report. Arguments: ws-url realm serializer
ticker-procedure procedure-prefix.
"""
import asyncio
import json
import sys

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import CallOptions, RegisterOptions

URL, REALM, SERIALIZER, TICKER, PREFIX = sys.argv[1:6]


class Client(ApplicationSession):
    async def onJoin(self, details):
        try:
            report = await self.scenario(details.session)
            print(json.dumps(report), flush=True)
        except Exception as err:  # the report says what failed; the test shows it
            print(json.dumps({"error": repr(err)}), flush=True)
        self.leave()

    async def scenario(self, session_id):
        loop = asyncio.get_running_loop()
        report = {"serializer": SERIALIZER}

        progress = []
        final = await self.call(TICKER, 3, options=CallOptions(on_progress=lambda value: progress.append(value)))
        report["progressive"] = {"progress": progress, "final": final}

        started = asyncio.Event()
        interrupted = loop.create_future()

        async def slow():
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                interrupted.set_result(True)
                raise
            return "finished"

        await self.register(slow, f"{PREFIX}.slow")
        call = asyncio.ensure_future(self.call(f"{PREFIX}.slow"))
        await asyncio.wait_for(started.wait(), 10)
        call.cancel()
        try:
            await call
            report["cancel"] = "not canceled"
        except asyncio.CancelledError:
            report["cancel"] = {"caller": "cancelled", "callee_interrupted": await asyncio.wait_for(interrupted, 10)}

        def whoami(details=None):
            return [details.caller, details.caller_authid, details.caller_authrole]

        registration = await self.register(whoami, f"{PREFIX}.whoami", options=RegisterOptions(details_arg="details"))
        sessions = await self.call("wamp.session.list")
        report["meta"] = {
            "count_at_least_one": await self.call("wamp.session.count") >= 1,
            "listed": session_id in sessions,
            "lookup": await self.call("wamp.registration.lookup", f"{PREFIX}.whoami") == registration.id,
            "callees": await self.call("wamp.registration.list_callees", registration.id) == [session_id],
        }
        try:
            await self.call("wamp.session.get", "not-an-id")
        except ApplicationError as err:
            report["meta"]["bad_argument"] = err.error
        report["undisclosed"] = await self.call(f"{PREFIX}.whoami")

        def called(details=None):
            return details.procedure.replace(PREFIX, "P")

        prefix = await self.register(called, f"{PREFIX}.orders", options=RegisterOptions(match="prefix", details_arg="details"))
        await self.register(called, f"{PREFIX}..cancel", options=RegisterOptions(match="wildcard", details_arg="details"))
        report["pattern"] = {
            "prefix": await self.call(f"{PREFIX}.orders-eu.42"),
            "wildcard": await self.call(f"{PREFIX}.order7.cancel"),
            "match": await self.call("wamp.registration.match", f"{PREFIX}.orders.1") == prefix.id,
            "lookup": await self.call("wamp.registration.lookup", f"{PREFIX}.orders", {"match": "prefix"}) == prefix.id,
        }

        print(json.dumps({"ready": session_id}), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        return report

    def onDisconnect(self):
        asyncio.get_event_loop().stop()


serializer = JsonSerializer() if SERIALIZER == "json" else MsgPackSerializer()
ApplicationRunner(URL, REALM, serializers=[serializer]).run(Client, log_level="error")
