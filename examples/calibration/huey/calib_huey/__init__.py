"""A Huey app configured as Huey's guide configures one (RedisHuey)."""
