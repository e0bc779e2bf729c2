"""What the scope checker knows about words: no LLM, just patterns a person can read and extend.

CONCEPTS map an idea to the phrasings that express it, so "promoted tweets" and
"sponsored casts" both count as paid promotion. KINDS are the vocabularies of
structured boundaries ("Only channels: X, Discord"): a request that names a
member of a kind outside the allowed list is blocked. A context can add its own
words under ``active_task.scope.vocabulary`` (concept or kind -> extra phrasings).
"""

from __future__ import annotations

CONCEPTS = {
    "paid_promotion": r"paid promotions?|paid|pay(ing)?|sponsor\w*|promoted|boost\w*|ads?|advertis\w*|influencers?|kols?",
    "outreach": r"outreach|reach(ing)? out|dms?|\bping\w*|contact\w*|pitch\w*|coordinat\w*|e-?mail (the|their|a|an)\b",
    "partner": r"partner\w*|co-marketing|joint",
    "competitor": r"competitors?|rivals?|competing",
    "customer": r"customers?|clients?|early adopters?|case stud(y|ies)|testimonials?|logos?",
    "apy": r"ap[yr]s?|\d+(\.\d+)?\s*(-\s*\d+(\.\d+)?\s*)?%\s*(yield|returns?|interest)|yield rates?|earn up to",
    "pricing": r"pric\w*|cheaper|discount\w*|\$\s?\d[\d,.]*|/\s?month|per (month|call|seat|user)|plans? (start|cost)\w*|costs?",
    "fees": r"fees?|interest rates?|cashback|exchange rates?|\bfx\b",
    "performance": r"performance|benchmark\w*|\d+(\.\d+)?\s*(x|×)\s*(faster|quicker|better)|faster|latency|throughput|speed\w*",
    "roadmap": r"roadmap|unreleased|upcoming|coming soon|ships? in|launch(es)? in|next (version|release|quarter)|q[1-4]\b|later this year",
    "redesign": r"redesign\w*|restyl\w*|styling|navigation|layout|header|footer|theme|look and feel",
    "code_change": r"code changes?|changes? to the code|refactor\w*|bugs?|patch(es|ing)?|pull requests?|commits?",
    "talk_proposal": r"talk proposals?|talks?|cfps?|call for (papers|proposals)|speaking slots?|keynotes?|(?-i:[A-Z]\w*Con)\b|conferences?",
    "video": r"videos?|youtube|screencasts?|walkthrough videos?|livestream\w*",
    "approval": r"approv\w*|sign(ed)?[- ]off|signed|consent\w*|green[- ]?lit|ok'?d|okayed|cleared",
    "source": r"sources?|cit(e|es|ed|ing|ation)|links?|references?|https?://\S+",
    "ask_owner": r"ask|check with|confirm with|escalat\w*|flag\w* (to|for)|raise (it |this )?with|run (it |this )?by",
}

# Structured boundaries: kind -> {canonical name: phrasings}. Longer phrasings win.
KINDS = {
    "channels": {
        "x": r"(?-i:X)|twitter|tweets?|tweeted|retweets?|quote-tweet\w*",
        "discord": r"discord",
        "farcaster": r"farcaster|casts?",
        "blog": r"blogs?|blog posts?|engineering blog",
        "newsletter": r"newsletters?|email newsletters?|mailing lists?",
        "email": r"e-?mails?|mailers?|email campaigns?",
        "youtube": r"youtube",
        "tiktok": r"tiktok",
        "instagram": r"instagram|ig stor(y|ies)|reels?",
        "linkedin": r"linkedin",
        "reddit": r"reddit|r/\w+|subreddits?",
        "telegram": r"telegram",
        "slack": r"slack",
        "facebook": r"facebook",
        "mastodon": r"mastodon",
        "bluesky": r"bluesky",
        "medium": r"medium\.com|on medium",
        "hacker_news": r"hacker news|show hn|\bhn\b",
        "product_hunt": r"product hunt",
        "press": r"press releases?|press|journalists?|coindesk|techcrunch|the block|media pitch",
        "podcast": r"podcasts?",
        "github": r"github",
        "docs_site": r"docs? sites?|documentation sites?|docs pages?|developer docs",
        "website": r"websites?|web sites?|homepage|landing pages?|marketing sites?",
        "whatsapp": r"whatsapp",
        "sms": r"\bsms\b|text messages?",
        "webinar": r"webinars?",
    },
    "languages": {name: name for name in (
        "english", "german", "french", "spanish", "italian", "portuguese", "dutch", "polish", "swedish", "danish",
        "norwegian", "finnish", "czech", "greek", "romanian", "hungarian", "turkish", "russian", "ukrainian",
        "arabic", "hebrew", "hindi", "japanese", "korean", "chinese", "mandarin", "vietnamese", "thai",
        "indonesian")},
    "regions": {
        "eu": r"eu|european union|europe",
        "uk": r"uk|united kingdom|britain|great britain|england|scotland|wales|northern ireland",
        "us": r"(?-i:US)|usa|united states|north america|america",
        "canada": r"canada",
        "switzerland": r"switzerland|swiss",
        "norway": r"norway",
        "apac": r"apac|asia",
        "latam": r"latam|latin america",
        "australia": r"australia",
        "japan": r"japan",
        "india": r"india",
    },
}

EU_MEMBERS = ("austria", "belgium", "bulgaria", "croatia", "cyprus", "czechia", "czech republic", "denmark",
              "estonia", "finland", "france", "germany", "greece", "hungary", "ireland", "italy", "latvia",
              "lithuania", "luxembourg", "malta", "netherlands", "poland", "portugal", "romania", "slovakia",
              "slovenia", "spain", "sweden")
KINDS["regions"].update({country: country for country in EU_MEMBERS})
PART_OF = {country: "eu" for country in EU_MEMBERS}

# Capitalised words that are not names of organisations.
NOT_NAMES = frozenset("""
i a an the this that these those our we you they it my your their its
monday tuesday wednesday thursday friday saturday sunday
january february march april may june july august september october november december
api sdk cli ui ux url cta faq pr seo kpi okr q1 q2 q3 q4 ok tldr
python typescript javascript go rust java kotlin swift ruby php
""".split())
