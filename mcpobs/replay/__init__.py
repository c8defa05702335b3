"""Replaying recorded MCP sessions against live servers, and comparing their answers."""
