"""A server that starts TLS as PostgreSQL does: the client's first 8 bytes
are an SSLRequest (length 8, code 80877103), the server answers "S" in
plaintext, and both switch to TLS on the same socket. Then each line the
client sends comes back as "ECHO <line>"; QUIT gets "BYE" and the server
closes the connection (or the client's EOF ends it). Serves connections one after the other until killed.

    pg_starttls_server.py PORT CERT KEY
Run as its own process so that a test can put it under the shim."""
import socket
import ssl
import sys

SSL_REQUEST = bytes.fromhex("0000000804d2162f")


def serve(connection, context):
    request = b""
    while len(request) < 8:
        chunk = connection.recv(8 - len(request))
        if not chunk:
            return
        request += chunk
    if request != SSL_REQUEST:
        connection.sendall(b"N")
        return
    connection.sendall(b"S")
    with context.wrap_socket(connection, server_side=True) as tls:
        buffer = b""
        while chunk := tls.recv(65536):
            buffer += chunk
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                if line == b"QUIT":
                    tls.sendall(b"BYE\n")
                    tls.unwrap()  # close_notify: s_client takes a bare close as an error
                    return
                tls.sendall(b"ECHO " + line + b"\n")


def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", port)) as server:
        while True:
            connection, _ = server.accept()
            with connection:
                try:
                    serve(connection, context)
                except (OSError, ssl.SSLError) as error:
                    print(f"connection failed: {error!r}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
