"""The optional TLS listener: HTTPS with a certificate from files, HSTS and Secure cookies there
only, and plain HTTP alongside; behind a TLS-terminating proxy, the same for requests a trusted
proxy marks X-Forwarded-Proto: https, and for nobody else."""
import http.client
import json
import os
import ssl
import subprocess
import unittest

from shop import Shop, free_port


class TlsTest(unittest.TestCase):
    def test_https_listener(self):
        shop = Shop(products=10)
        shop.stop()
        cert, key = os.path.join(shop.dir, "cert.pem"), os.path.join(shop.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                        "-days", "2", "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
        tls_port = free_port()
        shop.extra_args = [*Shop.UNLIMITED, "--tls-port", str(tls_port), "--tls-cert", cert, "--tls-key", key]
        shop.start()
        try:
            context = ssl.create_default_context(cafile=cert)
            context.check_hostname = False
            c = http.client.HTTPSConnection("127.0.0.1", tls_port, context=context, timeout=10)
            c.request("GET", "/api/store")
            r = c.getresponse()
            body = json.loads(r.read())
            self.assertEqual(r.status, 200)
            self.assertEqual(body["name"], "Git Goods")
            self.assertIn("max-age=", r.getheader("Strict-Transport-Security"))
            c.request("POST", "/api/auth/signup", body=json.dumps({"email": "tls@example.org", "password": "correct horse battery",
                                                                   "name": "T"}), headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 201)
            cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
            self.assertTrue(cookies and all("Secure" in v for v in cookies), cookies)
            c.close()
            plain = shop.get("/api/store")
            self.assertEqual(plain.status, 200)
            self.assertIsNone(plain.header("strict-transport-security"))
            # A client speaking plain HTTP to the TLS port gets nothing, and the server lives on.
            raw = http.client.HTTPConnection("127.0.0.1", tls_port, timeout=5)
            with self.assertRaises(Exception):
                raw.request("GET", "/api/store")
                raw.getresponse().read()
            self.assertEqual(shop.get("/readyz", internal=True).status, 200)
        finally:
            shop.close()


class ForwardedProtoTest(unittest.TestCase):
    """127.0.0.1 is the trusted proxy; 127.0.0.2, another loopback address, is anyone else."""

    def signup(self, shop, email, proto, source="127.0.0.1"):
        conn = http.client.HTTPConnection("127.0.0.1", shop.port, timeout=10, source_address=(source, 0))
        r = shop.request("POST", "/api/auth/signup", {"email": email, "password": "correct horse battery", "name": "P"},
                         headers={"X-Forwarded-Proto": proto} if proto else {}, conn=conn)
        conn.close()
        self.assertEqual(r.status, 201, r.body[:200])
        cookies = [v for k, v in r.raw_headers if k.lower() == "set-cookie"]
        self.assertEqual(len(cookies), 2, cookies)
        return cookies, r.header("strict-transport-security")

    def test_https_from_a_trusted_proxy_gets_secure_cookies_and_hsts(self):
        shop = Shop(products=10, extra_args=[*Shop.UNLIMITED, "--trusted-proxies", "127.0.0.1/32"])
        try:
            cookies, hsts = self.signup(shop, "proxied@example.org", "https")
            self.assertTrue(all("; Secure" in c for c in cookies), cookies)
            self.assertIn("max-age=", hsts or "")
            page = shop.get("/api/store", headers={"X-Forwarded-Proto": "http, https"})  # the nearest proxy's word
            self.assertIn("max-age=", page.header("strict-transport-security") or "")

            for email, proto, source in (("plain@example.org", "http", "127.0.0.1"),
                                         ("unmarked@example.org", None, "127.0.0.1"),
                                         ("spoofed@example.org", "https", "127.0.0.2")):
                cookies, hsts = self.signup(shop, email, proto, source)
                self.assertFalse(any("Secure" in c for c in cookies), (email, cookies))
                self.assertIsNone(hsts, email)
        finally:
            shop.close()

    def test_without_trusted_proxies_the_header_is_ignored(self):
        shop = Shop(products=10)
        try:
            cookies, hsts = self.signup(shop, "direct@example.org", "https")
            self.assertFalse(any("Secure" in c for c in cookies), cookies)
            self.assertIsNone(hsts)
        finally:
            shop.close()


if __name__ == "__main__":
    unittest.main()
