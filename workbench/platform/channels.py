"""Publishing channels and the hosts their video links may have (回填 checks)."""

from __future__ import annotations

from urllib.parse import urlsplit

from workbench.errors import InputError

# The hosts a published video's link may have, by channel (../shared/DOMAIN.md). A host also
# matches its subdomains (www.douyin.com), never a look-alike (douyin.com.evil.cn).
CHANNEL_HOSTS: dict[str, tuple[str, ...]] = {
    "抖音": ("douyin.com", "v.douyin.com", "iesdouyin.com"),
    "快手": ("kuaishou.com", "v.kuaishou.com", "chenzhongtech.com"),
    "小红书": ("xiaohongshu.com", "xhslink.com"),
    "视频号": ("channels.weixin.qq.com", "weixin.qq.com"),
    "B站": ("bilibili.com", "b23.tv"),
}
CHANNELS = tuple(CHANNEL_HOSTS)


def check_channel(name: str) -> str:
    value = name.strip()
    for channel in CHANNELS:
        if value.lower() == channel.lower():
            return channel
    raise InputError(f"未知的发布渠道「{name}」：可选 {'、'.join(CHANNELS)}")


def url_host(url: str) -> str:
    """The link's host, lower-case; a link that is not http(s) with a host is refused."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        host, parts = "", None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise InputError(f"作品链接应以 http:// 或 https:// 开头并带有域名（收到 {text[:80]!r}）")
    return host


def channel_of(url: str) -> str | None:
    """The channel whose hosts include the link's host, or None."""
    host = url_host(url)
    for channel, hosts in CHANNEL_HOSTS.items():
        if any(host == h or host.endswith("." + h) for h in hosts):
            return channel
    return None


def check_publish_url(url: str, channel: str | None) -> str:
    """The link, checked against the account's channel (or, without an account, against every
    known channel). Returns the stripped link."""
    found = channel_of(url)
    host = url_host(url)
    if channel is None:
        if found is None:
            known = "；".join(f"{c} {', '.join(h)}" for c, h in CHANNEL_HOSTS.items())
            raise InputError(f"作品链接的域名 {host} 不属于任何已知发布渠道（{known}）")
        return url.strip()
    if found != channel:
        raise InputError(f"作品链接的域名 {host} 不属于账号的渠道「{channel}」"
                         f"（应为 {', '.join(CHANNEL_HOSTS[channel])}）"
                         + (f"；它是{found}的链接" if found else ""))
    return url.strip()
