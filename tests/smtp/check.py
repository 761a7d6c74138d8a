#!/usr/bin/env python3
"""Parses every message a test SMTP server saved, the way a mail client would.

Usage: check.py SPOOL_DIR OUT_DIR

Prints a JSON list, one object per NNNN.eml in SPOOL_DIR (in order), with the
envelope, the decoded headers, both bodies, and each attachment: the name as
RFC 2231 gives it (Content-Disposition filename*), the name as RFC 2047 gives
it (Content-Type name=), and the path in OUT_DIR where its decoded bytes were
written so the test can compare them with the original file.
"""

import email
import email.policy
import json
import os
import sys
from email.header import decode_header, make_header


def decode_2047(value):
    if value is None:
        return None
    return str(make_header(decode_header(value)))


def main():
    spool, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    result = []
    for name in sorted(os.listdir(spool)):
        if not name.endswith(".eml"):
            continue
        stem = name[: -len(".eml")]
        with open(os.path.join(spool, stem + ".json")) as f:
            meta = json.load(f)
        with open(os.path.join(spool, name), "rb") as f:
            raw = f.read()
        # compat32 keeps raw header parameters so the RFC 2047 name= can be
        # checked on its own, as an old client would read it.
        legacy = email.message_from_bytes(raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        attachments = []
        legacy_parts = [
            p for p in legacy.walk() if p.get("Content-Disposition", "").startswith("attachment")
        ]
        for i, part in enumerate(msg.iter_attachments()):
            data = part.get_payload(decode=True)
            path = os.path.join(out, "%s-%d.bin" % (stem, i))
            with open(path, "wb") as f:
                f.write(data)
            raw_name = legacy_parts[i].get_param("name") if i < len(legacy_parts) else None
            attachments.append(
                {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "ct_name_raw": raw_name,
                    "ct_name": decode_2047(raw_name),
                    "content_disposition_raw": legacy_parts[i].get("Content-Disposition")
                    if i < len(legacy_parts)
                    else None,
                    "path": path,
                    "size": len(data),
                }
            )
        result.append(
            {
                "file": name,
                "envelope": meta,
                "from": str(msg["From"]),
                "to": [str(a) for a in msg["To"].addresses] if msg["To"] else [],
                "cc": [str(a) for a in msg["Cc"].addresses] if msg["Cc"] else [],
                "to_addrs": [a.addr_spec for a in msg["To"].addresses] if msg["To"] else [],
                "cc_addrs": [a.addr_spec for a in msg["Cc"].addresses] if msg["Cc"] else [],
                "subject": str(msg["Subject"]),
                "message_id": str(msg["Message-ID"]),
                "date": str(msg["Date"]),
                "content_type": msg.get_content_type(),
                "text": text.get_content().replace("\r\n", "\n") if text is not None else None,
                "html": html.get_content().replace("\r\n", "\n") if html is not None else None,
                "attachments": attachments,
                "defects": [type(d).__name__ for p in msg.walk() for d in p.defects],
            }
        )
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
