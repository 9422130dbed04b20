"""Free loopback ports for test servers (panel, nginx, Pebble)."""
import random
import socket


def _below_ephemeral():
    """Ports under the kernel's ephemeral range: an outgoing connection (a
    test's client, a panel's, git's) never takes one of them between the
    pick and the server's bind, as it could take a port the kernel handed
    out for port 0."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(10000, max(low, 10001)) if low > 12000 else range(low - 2000, low)


def free_ports(n):
    """n distinct loopback ports, free for TCP and UDP, below the ephemeral
    range. The sockets stay open until all are picked, so no port is handed
    out twice."""
    held, ports = [], []
    candidates = _below_ephemeral()
    try:
        while len(ports) < n:
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", random.choice(candidates)))
            except OSError:
                t.close()
                continue
            held.append(t)
            port = t.getsockname()[1]
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                u.close()
                continue
            held.append(u)
            ports.append(port)
        return ports
    finally:
        for sock in held:
            sock.close()


def free_port():
    return free_ports(1)[0]
