#!/usr/bin/env python3
"""Independent reference for handshake_vectors_test.cpp.

Builds one WireGuard handshake (whitepaper section 5.4) with fixed keys, straight
from the paper's formulas, using Python's hashlib/hmac BLAKE2s and the
`cryptography` package's X25519 and ChaCha20-Poly1305, and prints the messages and
keys as hex. The C++ test must reproduce them byte for byte. Cookie replies use
XChaCha20-Poly1305, which `cryptography` lacks: it is built from HChaCha20 here
(draft-irtf-cfrg-xchacha section 2.2); the C++ side uses libsodium.
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305


def HASH(x):
    return hashlib.blake2s(x).digest()


def MAC(key, x):
    return hashlib.blake2s(x, key=key, digest_size=16).digest()


def HMAC(key, x):
    return hmac.new(key, x, hashlib.blake2s).digest()


def KDF(n, key, x):
    t0 = HMAC(key, x)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(priv, p):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(p))


def AEAD(key, counter, pt, ad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), pt, ad)


def rotl(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))


def quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)


def XAEAD(key, nonce24, pt, ad):
    s = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce24[:16]))
    for _ in range(10):
        quarter(s, 0, 4, 8, 12); quarter(s, 1, 5, 9, 13)
        quarter(s, 2, 6, 10, 14); quarter(s, 3, 7, 11, 15)
        quarter(s, 0, 5, 10, 15); quarter(s, 1, 6, 11, 12)
        quarter(s, 2, 7, 8, 13); quarter(s, 3, 4, 9, 14)
    subkey = struct.pack("<8I", *(s[0:4] + s[12:16]))
    return ChaCha20Poly1305(subkey).encrypt(b"\0" * 4 + nonce24[16:], pt, ad)


def key(fill):
    return bytes([fill]) * 32


# Fixed inputs (also in the C++ test). X25519 clamps private keys itself.
Si_priv, Sr_priv = key(0x11), key(0x22)
Ei_priv, Er_priv = key(0x33), key(0x44)
Q = key(0x55)
I_i, I_r = 0x01020304, 0xa0b0c0d0
timestamp = bytes.fromhex("400000006553f1000a000000")
Si_pub, Sr_pub = pub(Si_priv), pub(Sr_priv)

C = HASH(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
H = HASH(C + b"WireGuard v1 zx2c4 Jason@zx2c4.com")
H = HASH(H + Sr_pub)

# Initiation: e, es, s, ss, {t}
Ei_pub = pub(Ei_priv)
(C,) = KDF(1, C, Ei_pub)
H = HASH(H + Ei_pub)
C, k = KDF(2, C, DH(Ei_priv, Sr_pub))
enc_static = AEAD(k, 0, Si_pub, H)
H = HASH(H + enc_static)
C, k = KDF(2, C, DH(Si_priv, Sr_pub))
enc_time = AEAD(k, 0, timestamp, H)
H = HASH(H + enc_time)
init = b"\x01\0\0\0" + struct.pack("<I", I_i) + Ei_pub + enc_static + enc_time
mac1_init = MAC(HASH(b"mac1----" + Sr_pub), init)
init_with_mac1 = init + mac1_init + b"\0" * 16

# Response: e, ee, se, psk, {}
Er_pub = pub(Er_priv)
(C,) = KDF(1, C, Er_pub)
H = HASH(H + Er_pub)
(C,) = KDF(1, C, DH(Er_priv, Ei_pub))
(C,) = KDF(1, C, DH(Er_priv, Si_pub))
C, tau, k = KDF(3, C, Q)
H = HASH(H + tau)
enc_nothing = AEAD(k, 0, b"", H)
H = HASH(H + enc_nothing)
resp = b"\x02\0\0\0" + struct.pack("<II", I_r, I_i) + Er_pub + enc_nothing
mac1_resp = MAC(HASH(b"mac1----" + Si_pub), resp)
resp_with_mac1 = resp + mac1_resp + b"\0" * 16

T_send_i, T_recv_i = KDF(2, C, b"")

# First transport message, initiator -> responder: 16-byte padded plaintext, counter 0.
payload = bytes(range(16))
transport = b"\x04\0\0\0" + struct.pack("<IQ", I_r, 0) + AEAD(T_send_i, 0, payload, b"")

# Cookie reply from the responder to the initiation, and the initiation re-sent with mac2.
cookie = bytes(range(0xc0, 0xd0))
nonce = bytes(range(0x60, 0x78))
cookie_reply = (b"\x03\0\0\0" + struct.pack("<I", I_i) + nonce +
                XAEAD(HASH(b"cookie--" + Sr_pub), nonce, cookie, mac1_init))
mac2_init = MAC(cookie, init + mac1_init)

for name, value in [
    ("initiator_static_public", Si_pub), ("responder_static_public", Sr_pub),
    ("initiation", init_with_mac1), ("response", resp_with_mac1),
    ("initiator_send", T_send_i), ("initiator_recv", T_recv_i),
    ("transport", transport), ("cookie_reply", cookie_reply), ("mac2_initiation", mac2_init),
]:
    print(f"{name} = {value.hex()}")
