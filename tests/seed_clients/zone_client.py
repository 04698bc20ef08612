"""Example client (Python), copied verbatim from the seed README ../shared/seeds/000_*.txt (ZONE | Cloud).

The test replaces only the two constants CLOUD_API and CLOUD_KEY.
"""
import requests, json, os

CLOUD_API = "https://your-ngrok-url.ngrok-free.dev"
CLOUD_KEY = "supersecret123"
LOCAL_DB = "users.json"
CLOUD_FILENAME = "users.json"

def ensure_local():
    if not os.path.exists(LOCAL_DB):
        with open(LOCAL_DB, "w") as f:
            json.dump({}, f, indent=4)

def upload():
    ensure_local()
    with open(LOCAL_DB, "rb") as f:
        res = requests.post(
            f"{CLOUD_API}/upload",
            data={"key": CLOUD_KEY},
            files={"file": (CLOUD_FILENAME, f)}
        )
    print("upload response:", res.status_code, res.text)

def download():
    res = requests.get(f"{CLOUD_API}/download/{CLOUD_FILENAME}", params={"key": CLOUD_KEY})
    if res.status_code == 200:
        open(LOCAL_DB, "wb").write(res.content)
        print("Downloaded OK")
    else:
        print("Download failed:", res.status_code, res.text)

# Example:
# add a user then upload
ensure_local()
db = {}
with open(LOCAL_DB, "r") as f: db = json.load(f)
db["123"] = "example_user"
with open(LOCAL_DB, "w") as f: json.dump(db, f, indent=4)
upload()
