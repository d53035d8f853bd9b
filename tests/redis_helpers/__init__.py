"""Helpers for the Redis limiter's tests: a throwaway redis-server and a worker process."""
