"""The embedded emulator's admin API, as the upstream client's tests drive it."""

from __future__ import annotations

from typing import Any

from tests.support.http import loopback


class EmulatorAdmin:
    def __init__(self, url: str) -> None:
        self.url = url

    async def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with loopback(self.url) as http:
            response = await http.request(method, f"/_emulator{path}", json=body)
        response.raise_for_status()
        return response.json()

    async def reset(self) -> None:
        await self._json("POST", "/reset")

    async def fault(self, path: str, status: int = 503, *, method: str | None = None, **extra: Any) -> None:
        await self._json("POST", "/faults", {"path": path, "status": status, "method": method, **extra})

    async def calls(self, path_contains: str = "") -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = (await self._json("GET", "/calls"))["calls"]
        return [call for call in calls if path_contains in call["path"]]

    async def upload(self, job_id: str) -> dict[str, Any]:
        upload: dict[str, Any] = await self._json("GET", f"/uploads/{job_id}")
        return upload
