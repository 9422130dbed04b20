"""Free loopback ports for test servers (panel, nginx, Pebble)."""
import socket


def free_ports(n):
    """n distinct loopback ports, free for TCP and UDP. The sockets stay open
    until all are picked: binding port 0 one socket at a time can hand back
    the same port twice."""
    held, ports = [], []
    try:
        while len(ports) < n:
            t = socket.socket()
            t.bind(("127.0.0.1", 0))
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
