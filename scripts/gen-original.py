#!/usr/bin/env python3
"""Writes a folder in the old system's (v2) layout with N customers, for
timing `duetrack import`: customers.csv with werkzeug-style hashes (one
fixed hash, so that generating is quick), dues.csv, and one portal payment
for every tenth customer. Usage: scripts/gen-original.py N DIR"""
import os
import random
import sys

n, out = int(sys.argv[1]), sys.argv[2]
data = os.path.join(out, "backend", "data")
os.makedirs(data, exist_ok=True)
rng = random.Random(7)
first = ["Asha", "Ravi", "Meena", "Farid", "Geeta", "Suresh", "Imran", "Kavya", "Devi", "Bala"]
last = ["Rao", "Kumar", "Iyer", "Khan", "Menon", "Patel", "Sheikh", "Nair", "Das", "Shah"]
# A PBKDF2 hash of "password" as werkzeug writes it (not used to sign in here).
pw = "pbkdf2:sha256:260000$Ab3dEf9h$" + "0" * 64
with open(os.path.join(data, "customers.csv"), "w") as c, \
        open(os.path.join(data, "dues.csv"), "w") as d, \
        open(os.path.join(data, "user_payment_updated.csv"), "w") as p:
    c.write("id,name,phone,email,address,due,category,status,last_update,added_at,username,password\n")
    d.write("id,name,phone,address,due_amount,due_date,last_message_date\n")
    p.write("id,username,name,amount_paid,new_due,payment_date\n")
    for i in range(1, n + 1):
        name = f"{rng.choice(first)} {rng.choice(last)} {i}"
        user = name.lower().replace(" ", "")
        due = rng.randrange(0, 5_000_000) / 100
        phone = f"98{i:08d}"
        email = f"{user}@example.com" if i % 3 else ""
        c.write(f"{i},{name},{phone},{email},,{due},Regular,active,2026-11-20 10:00:00,2026-10-01 09:15:00,{user},{pw}\n")
        d.write(f"{i},{name},{phone},,{due},2026-10-01,\n")
        if i % 10 == 0:
            p.write(f"{i},{user},{name},250.0,{due},2026-11-01 18:30:00\n")
