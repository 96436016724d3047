"""Jupyter server extension: the route behind the ``.onnx`` file viewer.

``GET {base_url}onnx-workbench/view?path=<path relative to the server root>`` answers the
graph view payload (docs/view-schema.md); ``&group=<group id>`` one group and
``&details=<node id>`` one node's details, which the viewer fetches as the user expands
groups and selects nodes. Only files under the contents manager's root are served, to
users allowed to read contents, and files over ``MAX_MODEL_BYTES`` (2 GiB, protobuf's own
limit; configurable) are refused before they are read.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web

from .errors import WorkbenchError
from .graph import LAZY_PAYLOAD_BYTES, ViewIndex, build_view
from .model import open as open_model
from .model._load import PROTOBUF_LIMIT

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

ROUTE = "onnx-workbench/view"
CACHE_SIZE = 4
#: The largest model file the route opens (the protobuf part; external weights are not read).
#: Set ``ServerApp.tornado_settings = {"onnx_workbench_max_bytes": N}`` to change it.
MAX_MODEL_BYTES = PROTOBUF_LIMIT

CacheKey = tuple[str, int, int]


class RouteError(Exception):
    """A request the route refuses: the HTTP status and the message shown to the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ViewCache:
    """The last few models' view indexes, keyed by file identity (real path, mtime, size).

    Entries are futures, so concurrent requests for one model share a single build; a
    build that fails is dropped, so the next request tries again.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[CacheKey, asyncio.Future[ViewIndex]] = OrderedDict()

    async def get(self, key: CacheKey, build: Callable[[], ViewIndex]) -> ViewIndex:
        """The index cached under ``key``, built with ``build`` in a worker thread if absent."""
        entry = self._entries.pop(key, None)
        if entry is None:
            entry = asyncio.ensure_future(asyncio.to_thread(build))
        self._entries[key] = entry
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        try:
            return await entry
        except BaseException:
            if self._entries.get(key) is entry:
                del self._entries[key]
            raise


def confine(root_dir: str, path: str) -> str:
    """The real path of ``path`` (relative to ``root_dir``), refusing anything outside the root.

    Absolute paths, ``..`` that climbs out and symlinks that point out are refused with 403.
    """
    if not path:
        raise RouteError(400, "The request names no model: add ?path=<file relative to the server root>.")
    if os.path.isabs(path) or path.startswith(("/", "\\")):
        raise RouteError(403, f"{path!r} is an absolute path; give a path relative to the server root.")
    root = os.path.realpath(root_dir)
    full = os.path.realpath(os.path.join(root, path))
    if os.path.commonpath([root, full]) != root:
        raise RouteError(403, f"{path!r} is outside the server root; only files under it can be opened.")
    return full


def _build(path: str) -> ViewIndex:
    """Opens the model file at ``path`` and indexes its graph view (CPU work: runs in a thread)."""
    return build_view(open_model(path))


class ViewHandler(APIHandler):
    """``GET onnx-workbench/view``: a model file's view payload, one group or one node's details."""

    auth_resource = "contents"

    @property
    def view_cache(self) -> ViewCache:
        """The server-wide cache of view indexes."""
        return self.settings["onnx_workbench_views"]

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answers the payload, ``group=`` or ``details=`` as JSON, or ``{"message": ...}`` on error."""
        try:
            reply = await self._reply()
        except RouteError as error:
            self.set_status(error.status)
            reply = {"message": error.message}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(reply))

    async def _reply(self) -> dict[str, Any]:
        path = self.get_query_argument("path", "")
        full = confine(self.contents_manager.root_dir, path)
        try:
            if not self.contents_manager.allow_hidden and await ensure_async(self.contents_manager.is_hidden(path)):
                raise RouteError(403, f"{path!r} is hidden; the server does not serve hidden files.")
            if not os.path.isfile(full):
                raise RouteError(404, f"No file {path!r} under the server root.")
            stat = os.stat(full)
        except OSError as error:  # a link to itself, a file gone meanwhile, no permission
            raise RouteError(404, f"{path!r} cannot be read ({error.strerror}).") from None
        limit = int(self.settings.get("onnx_workbench_max_bytes", MAX_MODEL_BYTES))
        if stat.st_size > limit:
            raise RouteError(413, f"{path!r} is {stat.st_size / 1e6:,.1f} MB, over this server's limit of "
                                  f"{limit / 1e6:,.1f} MB for the .onnx viewer: open it in a notebook with "
                                  "wb.open(path), or raise ServerApp.tornado_settings['onnx_workbench_max_bytes'].")
        try:
            index = await self.view_cache.get((full, stat.st_mtime_ns, stat.st_size), lambda: _build(full))
        except WorkbenchError as error:
            # The message names the file as the user does, not by its place on the server.
            raise RouteError(400, str(error).replace(full, path)) from error
        group = self.get_query_argument("group", None)
        if group is not None:
            return await _lookup(index.group, group, "group")
        details = self.get_query_argument("details", None)
        if details is not None:
            return await _lookup(index.details, details, "node")
        return await asyncio.to_thread(index.payload, budget=LAZY_PAYLOAD_BYTES)


async def _lookup(find: Callable[[str], dict], key: str, what: str) -> dict:
    """``find(key)`` off the event loop; an unknown key is a 404."""
    try:
        return await asyncio.to_thread(find, key)
    except KeyError:
        raise RouteError(404, f"The model has no {what} {key!r}.") from None


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    """Adds the view route to the Jupyter server (called by jupyter_server at start-up)."""
    web_app = serverapp.web_app
    web_app.settings["onnx_workbench_views"] = ViewCache()
    route = url_path_join(web_app.settings["base_url"], ROUTE)
    web_app.add_handlers(".*$", [(route, ViewHandler)])
