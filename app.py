"""Start the Workbench web app: `python app.py` (or `make app`) → http://127.0.0.1:7860.

Host and port: WORKBENCH_HOST / WORKBENCH_PORT, or `python app.py --host 0.0.0.0 --port 8080`.
Login: WORKBENCH_AUTH="user:password[,user2:password2]".
"""

import argparse
import logging

from workbench.errors import WorkbenchError
from workbench.ui import launch


def main() -> None:
    parser = argparse.ArgumentParser(description="Workbench 网页版")
    parser.add_argument("--host", help="监听地址（默认 127.0.0.1）")
    parser.add_argument("--port", type=int, help="端口（默认 7860）")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not every request Gradio makes
    try:
        launch(args.host, args.port)
    except WorkbenchError as exc:
        raise SystemExit(f"错误: {exc}") from None
    except OSError as exc:  # e.g. the port is taken
        raise SystemExit(f"错误: 无法启动网页服务：{exc}（换一个端口：--port 7870）") from None


if __name__ == "__main__":
    main()
