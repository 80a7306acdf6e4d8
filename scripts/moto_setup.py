"""Prepares a fresh moto_server for xwal's S3 tests (run by scripts/s3-server.sh).

Waits for the server, creates the bucket `xwal-test` and an IAM user allowed
to use S3, then turns authentication on: from then on only that user's keys
work, so wrong credentials get a real 403. Writes the keys as `export` lines.
"""
import json
import sys
import time
import urllib.request

import boto3

endpoint, out = sys.argv[1], sys.argv[2]
deadline = time.time() + 20
while True:
    try:
        urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("moto did not answer within 20 s")
        time.sleep(0.1)

kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="xwal-test")
iam.put_user_policy(
    UserName="xwal-test",
    PolicyName="s3-all",
    PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }),
)
key = iam.create_access_key(UserName="xwal-test")["AccessKey"]
boto3.client("s3", **kw).create_bucket(Bucket="xwal-test")
# Authentication on, from the next request.
req = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                             headers={"Content-Type": "text/plain"})
urllib.request.urlopen(req, timeout=5)
with open(out, "w") as f:
    f.write("export XWAL_S3_ACCESS_KEY=%s\n" % key["AccessKeyId"])
    f.write("export XWAL_S3_SECRET_KEY=%s\n" % key["SecretAccessKey"])
