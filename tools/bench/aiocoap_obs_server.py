"""Reference for bench_server: an aiocoap server doing traditional observation (RFC 7641) of /r;
PUT /r sets the value and notifies every observer (one unicast notification each).
usage: aiocoap_obs_server.py PORT"""
import asyncio
import sys

import aiocoap
import aiocoap.resource as resource


class R(resource.ObservableResource):
    def __init__(self):
        super().__init__()
        self.value = b"0"

    async def render_get(self, request):
        return aiocoap.Message(payload=self.value, content_format=0)

    async def render_put(self, request):
        self.value = request.payload
        self.updated_state()
        return aiocoap.Message(code=aiocoap.CHANGED)


async def main(port):
    site = resource.Site()
    site.add_resource(["r"], R())
    await aiocoap.Context.create_server_context(site, bind=("127.0.0.1", port))
    print("listening", flush=True)
    await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
