"""Software rendering of face meshes and colour transfer."""
