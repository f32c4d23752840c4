"""Music-on-hold classes: ordered playlists of a tenant's media files, one of them the default."""
