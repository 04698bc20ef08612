"""Example Telegram bot snippet (client side), copied verbatim from the seed README ../shared/seeds/000_*.txt (ZONE | Cloud).

The test replaces only the two constants CLOUD_API and CLOUD_KEY.
"""
import os, json, requests, telebot

BOT_TOKEN = "YOUR_BOT_TOKEN"
bot = telebot.TeleBot(BOT_TOKEN, parse_mode="HTML")

CLOUD_API = "https://your-ngrok-url.ngrok-free.dev"
CLOUD_KEY = "supersecret123"
LOCAL_DB = "users.json"

if not os.path.exists(LOCAL_DB):
    with open(LOCAL_DB, "w") as f:
        json.dump({}, f, indent=4)

def upload_to_cloud():
    try:
        with open(LOCAL_DB, "rb") as f:
            return requests.post(
                f"{CLOUD_API}/upload",
                data={"key": CLOUD_KEY},
                files={"file": ("users.json", f)}
            ).json()
    except Exception as e:
        return {"error": str(e)}

def save_user(user_id, username):
    with open(LOCAL_DB, "r") as f:
        db = json.load(f)
    db[str(user_id)] = username or "no_name"
    with open(LOCAL_DB, "w") as f:
        json.dump(db, f, indent=4)
    print("Uploading file to cloud...")
    print(upload_to_cloud())

@bot.message_handler(commands=["start"])
def start(m):
    save_user(m.from_user.id, m.from_user.username)
    bot.send_message(m.chat.id, "Welcome! Your ID saved.")

bot.infinity_polling()
