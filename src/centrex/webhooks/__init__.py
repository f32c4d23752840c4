"""Webhooks: Standard Webhooks signing, the SSRF guard, retry backoff, and the durable dispatcher (fan-out of outbox
events into deliveries, delivery with retries, ordering, the delivery log and automatic disabling).

No HTTP framework code here: the API lives in ``centrex.resources.webhooks``.
"""
