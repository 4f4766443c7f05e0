from radicale import application  # noqa: F401  (RADICALE_CONFIG from SetEnv)
