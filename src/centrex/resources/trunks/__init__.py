"""Trunks: SIP connections to upstream carriers (registration or IP-authenticated), own or shared from above."""
