"""`workbench platform …`, `workbench postback …` and `workbench serve`: the platforms that
send conversion postbacks over HTTP, the events they sent, and the server that receives them."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from workbench.cli.common import app, current_settings, err, new_table, open_store, out, short_time
from workbench.cli.tasks import JsonOpt, print_json
from workbench.errors import InputError

platform_app = typer.Typer(help="回传平台：可以向 /api/postback/平台名 发送签名事件的广告平台及其密钥。",
                           no_args_is_help=True)
postback_app = typer.Typer(help="回传事件：workbench serve 收到并保存的事件，以及被拒绝的请求。",
                           no_args_is_help=True)
app.add_typer(platform_app, name="platform")
app.add_typer(postback_app, name="postback")

NameArg = Annotated[str, typer.Argument(help="平台名（小写字母、数字、- 或 _），如 oceanengine")]


@platform_app.command("add")
def platform_add(
    name: NameArg,
    event_map: Annotated[str | None, typer.Option(
        "--event-map", help="事件代码映射：预设 oceanengine | kuaishou，或 TOML/JSON 文件"
                            "（代码 = \"activation|registration|order|retention_1d\"）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """登记回传平台并生成签名密钥（只显示这一次）；最后一行输出平台名。--json 输出 {"name", "secret"}。"""
    from workbench.platform.history import cli_actor
    from workbench.postback.platforms import add_platform, postback_url

    settings = current_settings()
    added = add_platform(open_store(settings), settings.home, name, event_map, cli_actor())
    if as_json:
        print_json({"name": added["name"], "secret": added["secret"],
                    "url": postback_url(settings, added["name"]),
                    "event_map": added["event_map"]})
        return
    where = f"（事件映射：{added['event_map_source']}）" if added["event_map_source"] else ""
    out.print(f"已登记回传平台 {added['name']}{where}")
    out.print(f"回传地址: {postback_url(settings, added['name'])}")
    out.print("签名密钥（只显示这一次，请填到发送方；丢失了用 platform rotate 换新的）:")
    out.print(added["secret"])
    out.print(added["name"])


@platform_app.command("rotate")
def platform_rotate(
    name: NameArg,
    retire: Annotated[bool, typer.Option(
        "--retire", help="不生成新密钥，只停用旧密钥：保留最新的一个，其余全部停用")] = False,
    as_json: JsonOpt = False,
) -> None:
    """换密钥：生成新密钥（只显示这一次，在最后一行），旧密钥继续有效；发送方换好后用 --retire 停用旧的。"""
    from workbench.platform.history import cli_actor
    from workbench.postback.platforms import rotate_platform

    settings = current_settings()
    done = rotate_platform(open_store(settings), settings.home, name, cli_actor(), retire=retire)
    if as_json:
        print_json(done)
        return
    if retire:
        out.print(f"已停用 {done['name']} 的 {done['retired']} 个旧密钥，现有 {done['secrets']} 个")
        return
    out.print(f"已为 {done['name']} 生成新密钥（现有 {done['secrets']} 个，旧的仍然有效，"
              f"直到 workbench platform rotate {done['name']} --retire）；只显示这一次:")
    out.print(done["secret"])


@platform_app.command("list")
def platform_list(as_json: JsonOpt = False) -> None:
    """回传平台列表（不显示密钥）：事件映射、密钥个数、收到的事件数。"""
    from workbench.postback.platforms import list_platforms

    settings = current_settings()
    platforms = list_platforms(open_store(settings), settings.home)
    if as_json:
        print_json(platforms)
        return
    table = new_table("平台", "事件映射", "密钥", "事件", "最近事件", "登记", keep=("平台",))
    for p in platforms:
        table.add_row(p["name"], p["event_map_source"] or "（只认事件名）", str(p["secrets_count"]),
                      str(p["events"]), short_time(p["last_event"]), short_time(p["created"]))
    out.print(table)


@postback_app.command("list")
def postback_list(
    platform: Annotated[str | None, typer.Option("--platform", help="只看这个平台的")] = None,
    limit: Annotated[int, typer.Option(help="显示条数（最多 10000）")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """收到的回传事件，新的在前。"""
    from workbench.postback.events import list_events

    events = list_events(open_store(current_settings()), platform, limit)
    if as_json:
        print_json(events)
        return
    table = new_table("编号", "平台", "事件", "口令", "日期", "金额", "点击 ID", "收到",
                      keep=("编号", "日期", "收到"))
    for e in events:
        table.add_row(str(e["id"]), e["platform"], e["event_type"], e["keyword"], e["date"],
                      e["amount"] or "", e["click_id"] or "", short_time(e["received_at"]))
    out.print(table)


@postback_app.command("stats")
def postback_stats(as_json: JsonOpt = False) -> None:
    """被拒绝的回传请求，按平台和原因计数（请求体不会被保存）。"""
    from workbench.postback.stats import rejection_stats

    rows = rejection_stats(open_store(current_settings()))
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("没有被拒绝的回传请求")
        return
    table = new_table("平台", "原因", "状态码", "次数", "最近", "说明", keep=("原因", "次数"))
    for r in rows:
        table.add_row(r["platform"] or "（未登记的平台）", r["reason"], str(r["status"]),
                      str(r["count"]), short_time(r["last_at"]), r["meaning"])
    out.print(table)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址（默认取设置 serve.host，127.0.0.1）")
                    ] = None,
    port: Annotated[int | None, typer.Option(
        help="端口（默认取设置 serve.port，8787；0：任选一个空闲端口）")] = None,
) -> None:
    """接收回传：在 POST /api/postback/平台名 上接收签名事件，直到 Ctrl-C。"""
    import uvicorn

    from workbench.postback.server import postback_app as make_app

    settings = current_settings()
    host = host or settings.serve_host
    port = settings.serve_port if port is None else port
    if not 0 <= port <= 65535:
        raise InputError(f"--port 应在 0 到 65535 之间，收到 {port}")
    sock = _listen(host, port)
    asgi = make_app(settings)
    shown = f"[{host}]" if ":" in host else host
    out.print(f"回传服务: http://{shown}:{sock.getsockname()[1]}/api/postback/平台名（Ctrl-C 停止）")
    config = uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then re-raises the Ctrl-C
        pass
    err.print("回传服务已停止")


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket, so a taken port is one clear error (not uvicorn's exit)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise InputError(f"--host {host} 无法解析：{exc.strerror}") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"无法监听 {host}:{port}：{exc.strerror}（端口被占用就换一个 --port）"
                         ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
