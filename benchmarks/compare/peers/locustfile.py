"""Locust's side of the three-step flow (benchmarks/compare/run.sh): each user, with no wait between
iterations, GETs the 1 KiB asset, POSTs the body it got back, and DELETEs the item. FastHttpUser
(geventhttpclient), Locust's fast client; the host comes from --host (127.0.0.1 only)."""
from locust import FastHttpUser, constant, task


class Flow(FastHttpUser):
    wait_time = constant(0)

    @task
    def get_post_delete(self):
        with self.client.get("/asset", name="get", catch_response=True) as r:
            body = bytes(r.content)  # geventhttpclient hands a bytearray; it sends only bytes/str as a body
            if len(body) != 1024:
                r.failure(f"expected 1024 bytes, got {len(body)}")
                return
        self.client.post("/items", data=body, name="post")
        self.client.delete("/items/1", name="delete")
