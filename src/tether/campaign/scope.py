"""Scope enforcement (seed 004, "Scope Enforcement") without an LLM, and explaining itself.

A request is checked against the active task's scope in this order; the first
rule that decides it is named in the answer:

1. asking the owner (``Ask @phil whether ...``) is always ALLOWED: it creates nothing;
2. an ``out_of_scope`` item whose concepts the request matches: BLOCKED;
3. a structured boundary ("Only channels: X, Discord, Farcaster, Blog", "limited to ...",
   "Only regions: EU, UK") and a request naming a channel/region/language outside it: BLOCKED;
4. a prohibition ("No APY claims without verified source", "No partner mentions without
   approval", "Never mention X", "Pricing needs sign-off from @dana") the request triggers,
   unless its condition is met in the request itself or by an affirmative entry of
   ``decisions_made`` that names the same partner/customer or the same figures: BLOCKED;
5. a request that shares a term with an objective (or the task's description) is ALLOWED;
   one that relates to none is BLOCKED as off-task.
Mentions under a negation ("no paid boost", "without quoting any APY") do not count.
"""

from __future__ import annotations

import re

from .lexicon import CONCEPTS, KINDS, NOT_NAMES, PART_OF
from .verdict import Verdict
from .wording import VERBISH, bare, content_stems, mentions, negated, split_words, stem

def _concepts(text: str, extra: dict) -> set[str]:
    return {name for name, _, _ in mentions(text, {**CONCEPTS, **extra})}


# -- structured boundaries ----------------------------------------------------------------

_ONLY = [
    re.compile(r"^\s*only\s+(?P<kind>[\w ]+?)\s*:\s*(?P<list>.+)$", re.I),
    re.compile(r"\bonly\s+(?:on|in|to|via|through)\s*:?\s*(?P<list>.+)$", re.I),
    re.compile(r"\b(?:limited|restricted|confined)\s+to\s*:?\s*(?P<list>.+)$", re.I),
]
_KIND_WORDS = {"channel": "channels", "platform": "channels", "network": "channels", "language": "languages",
               "locale": "languages", "region": "regions", "market": "regions", "country": "regions",
               "countrie": "regions", "geography": "regions", "geo": "regions"}


def _kind_vocab(doc: dict) -> dict:
    vocab = {kind: dict(names) for kind, names in KINDS.items()}
    extra = ((doc.get("active_task") or {}).get("scope") or {}).get("vocabulary") or {}
    for key, phrasings in extra.items():
        if key in vocab and isinstance(phrasings, dict):
            for name, more in phrasings.items():
                words = "|".join(re.escape(str(p)) for p in (more if isinstance(more, list) else [more]))
                vocab[key][name] = vocab[key].get(name, re.escape(name)) + "|" + words
    return vocab


def _classify(item: str, vocab: dict) -> tuple[str | None, str]:
    for kind, names in vocab.items():
        for name, hits in ((n, mentions(item, {n: p})) for n, p in names.items()):
            if hits:
                return kind, name
    return None, item.strip().lower()


def parse_only(boundary: str, vocab: dict) -> tuple[str, list[str]] | None:
    for pattern in _ONLY:
        match = pattern.search(boundary)
        if not match:
            continue
        parts = [p.strip(" .") for p in re.split(r",|\band\b|\bor\b|/|;", match.group("list")) if p.strip(" .")]
        classified = [_classify(p, vocab) for p in parts]
        kind = None
        if "kind" in match.groupdict() and match.group("kind"):
            kind = _KIND_WORDS.get(stem(match.group("kind").split()[-1]), match.group("kind").strip().lower())
        if kind is None:
            kinds = [k for k, _ in classified if k]
            kind = max(set(kinds), key=kinds.count) if kinds else None
        if kind is None:
            continue
        return kind, [name for _, name in classified]
    return None


def structured_lists(doc: dict) -> dict[str, list[str]]:
    """{kind: allowed names} from the boundaries, e.g. {"channels": ["x", "discord", ...]}."""
    vocab = _kind_vocab(doc)
    out = {}
    for boundary in ((doc.get("active_task") or {}).get("scope") or {}).get("boundaries") or []:
        parsed = parse_only(str(boundary), vocab)
        if parsed:
            out[parsed[0]] = parsed[1]
    return out


# -- names of organisations --------------------------------------------------------------------

_ORG_KEYS = re.compile(r"protocol|partner|customer|client|competitor|compan|brand|integration|vendor|sponsor", re.I)
_NAME = re.compile(r"(?<![@#\w.])[A-Z][\w]*(?:[.&'’-][\w]+)*(?:\s+(?:[A-Z][\w]*(?:[.&'’-][\w]+)*|&))*")


def _strings(value, key: str = ""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)
    elif isinstance(value, str):
        yield key, value


class _Names:
    def __init__(self, doc: dict) -> None:
        knowledge = doc.get("knowledge") or {}
        campaign = doc.get("campaign") or {}
        self.third_parties, self.known = set(), set()
        for key, value in _strings(knowledge):
            (self.third_parties if _ORG_KEYS.search(key) else self.known).add(value.lower())
        subject_text = " ".join(str(x) for x in (campaign.get("title"), (knowledge.get("protocol") or {}).get("name"),
                                                 (knowledge.get("product") or {}).get("name")) if x)
        self.subject = {w.lower() for w in split_words(subject_text) if w[0].isupper()}
        # Words of the task itself ("What's new in v3" page) are not organisations.
        task = doc.get("active_task") or {}
        scope = task.get("scope") or {}
        for text in [task.get("description") or ""] + [str(t) for k in ("objectives", "boundaries", "out_of_scope")
                                                       for t in scope.get(k) or []]:
            self.known.update(bare(w) for w in split_words(text))
        self.third_parties -= self.subject

    def orgs(self, text: str, skip_spans: list[tuple[int, int]]) -> list[str]:
        """Organisations named in ``text``: known third parties and unknown capitalised names."""
        found = []
        starts = {0} | {m.end() for m in re.finditer(r"[.!?;:]\s+|\(\s*|['\"“‘]\s*", text)}
        for match in _NAME.finditer(text):
            if any(s <= match.start() < e for s, e in skip_spans) or negated(text, match.start()):
                continue
            raw = [w for w in match.group(0).split() if w != "&"]
            if match.start() in starts:
                raw = raw[1:]  # the first word of a sentence is capitalised anyway
            words = [bare(w) for w in raw]
            phrase = " ".join(words)
            if not words or phrase in self.subject or phrase.split("'")[0] in self.subject:
                continue
            if phrase in self.third_parties:
                found.append(phrase)
                continue
            named = [w for w, r in zip(words, raw) if w not in NOT_NAMES and w not in self.subject
                     and not (r.isupper() and len(r) <= 4) and w not in self.known
                     and not any(w in k.split() for k in self.known)]
            if named:
                found.append(" ".join(named))
        return found


# -- the rules -------------------------------------------------------------------------------

_PROHIBIT = [
    re.compile(r"^\s*(?:no|never|don'?t|do not|avoid)\s+(?P<x>.+?)(?:\s+(?:without|unless|except with|except)\s+(?P<y>.+))?$", re.I),
    re.compile(r"^(?P<x>.+?)\s+(?:must|may|should|can)(?:\s*not|n't| never)\b.*?(?:\b(?:unless|without)\s+(?P<y>.+))?$", re.I),
    re.compile(r"^(?P<x>.+?)\s+only\s+(?:if|when|with)\s+(?P<y>.+)$", re.I),
    re.compile(r"^(?P<x>.+?)\s+(?:needs?|requires?)\s+(?P<y>.+)$", re.I),
]
_X_VERBS = re.compile(r"^(?:mention(?:ing)?|nam(?:e|ing)|us(?:e|ing)|mak(?:e|ing)|includ(?:e|ing)|say(?:ing)?|"
                      r"claim(?:ing)?|quot(?:e|ing)|publish(?:ing)?|show(?:ing)?)\s+(?:the\s+|any\s+)?", re.I)
_NAME_CLASSES = {"partner", "customer", "competitor"}
_NAME_WORDS = re.compile(r"\b(names?|logos?|brands?|compan\w*|protocols?|partners?|customers?|competitors?)\b", re.I)
_AFFIRMATIVE = re.compile(r"^\s*(yes|approved|ok|okay|allowed|granted|go ahead)\b|approv|consent|allowed|granted", re.I)
_NEGATIVE = re.compile(r"^\s*(no|not|denied|rejected|declined|never)\b", re.I)
_NUMBER = re.compile(r"\d[\d,.]*")


class Prohibition:
    def __init__(self, text: str, x: str, y: str | None, extra: dict) -> None:
        stripped = _X_VERBS.sub("", x.strip())
        self.text, self.x, self.y = text, stripped, y
        named_first = stripped != x.strip()  # "Never mention Globex": the name follows the verb
        concepts = _concepts(self.x, extra) - {"approval", "source", "ask_owner"}
        self.names = bool(concepts & _NAME_CLASSES or _NAME_WORDS.search(self.x))
        self.classes = concepts & _NAME_CLASSES
        self.concepts = concepts - _NAME_CLASSES if self.names else concepts
        self.literals = [m.group(0) for m in _NAME.finditer(self.x) if m.start() > 0 or named_first]
        self.literals = [lit for lit in self.literals if lit.lower() not in NOT_NAMES and not lit.isupper()]
        self.condition = _concepts(y, extra) & {"approval", "source"} if y else set()
        if y and not self.condition:
            self.condition = {"approval"}  # "unless Legal has signed off", "only if cleared": an approval


class Rules:
    def __init__(self, doc: dict) -> None:
        task = doc.get("active_task") or {}
        scope = task.get("scope") or {}
        extra = {k: "|".join(re.escape(str(p)) for p in v) for k, v in (scope.get("vocabulary") or {}).items()
                 if k in CONCEPTS and isinstance(v, list)}
        self.concepts = {**CONCEPTS, **{k: CONCEPTS[k] + "|" + v for k, v in extra.items()}}
        self.vocab = _kind_vocab(doc)
        self.only, self.prohibitions = [], []
        for boundary in scope.get("boundaries") or []:
            boundary = str(boundary)
            parsed = parse_only(boundary, self.vocab)
            if parsed:
                self.only.append((boundary, parsed[0], set(parsed[1])))
                continue
            for pattern in _PROHIBIT:
                match = pattern.search(boundary)
                if match:
                    self.prohibitions.append(Prohibition(boundary, match.group("x"), match.group("y"), self.concepts))
                    break
        self.out_of_scope = []
        for item in scope.get("out_of_scope") or []:
            item = str(item)
            core = re.sub(r"\(.*?\)", "", item).strip()
            hits = [h for h in mentions(core, self.concepts, negations=False) if h[0] not in ("approval", "source", "ask_owner")]
            channel_hits = mentions(core, self.vocab["channels"], negations=False)
            rest = core
            for _, start, end in sorted(hits + channel_hits, key=lambda h: -h[1]):
                rest = rest[:start] + " " + rest[end:]
            self.out_of_scope.append((item, {h[0] for h in hits}, {h[0] for h in channel_hits}, content_stems(rest)))
        self.objectives = [str(o) for o in scope.get("objectives") or []]
        self.description = str(task.get("description") or "")
        self.names = _Names(doc)
        self.approvals = [" ".join(str(d.get(k, "")) for k in ("question", "decision"))
                          for d in doc.get("decisions_made") or []
                          if _AFFIRMATIVE.search(str(d.get("decision", ""))) and not _NEGATIVE.search(str(d.get("decision", "")))]
        self.owner = (doc.get("campaign") or {}).get("campaign_owner") or "the campaign owner"

    # each rule returns a Verdict or None
    def ask_owner(self, request: str):
        if re.match(r"^\s*(please\s+)?(" + CONCEPTS["ask_owner"] + r")\b", request, re.I) and (
                "@" in request or re.search(r"\b(owner|whether|if we|approval)\b", request, re.I)):
            return Verdict(True, "Asking the owner creates nothing and is how scope questions get answered",
                           "ask the owner", "Proceed")
        return None

    def out_of_scope_rule(self, request: str, found: set[str], channels: set[str], stems: set[str]):
        for item, concepts, channel_hits, literals in self.out_of_scope:
            if not concepts and not channel_hits and not literals:
                continue
            if not concepts <= found or not channel_hits <= channels:
                continue
            # Concepts decide; left-over words only when the item has no concept ("Developer conference talks").
            need = len(literals) // 2 if concepts or channel_hits else max(1, -(-len(literals) * 3 // 5))
            if len(literals & stems) >= need:
                return Verdict(False, f"The request falls under out of scope: {item}",
                               f"out_of_scope: {item}", "Request denied. Create a separate task if needed.")
        return None

    def only_rule(self, request: str):
        for boundary, kind, allowed in self.only:
            for name, start, end in mentions(request, self.vocab.get(kind, {})):
                if name in allowed or PART_OF.get(name) in allowed:
                    continue
                shown = request[start:end]
                return Verdict(False, f"{shown} is outside the allowed {kind} ({boundary})", f"boundary: {boundary}",
                               "Request denied. Create a separate task if needed.")
        return None

    def prohibition_rule(self, request: str, found: set[str], orgs: list[str]):
        for rule in self.prohibitions:
            hit = None
            if rule.names and (orgs or found & rule.classes):
                hit = ("names " + ", ".join(orgs)) if orgs else "mentions " + ", ".join(sorted(found & rule.classes))
            elif rule.concepts and rule.concepts & found:
                hit = "touches " + ", ".join(sorted(rule.concepts & found)).replace("_", " ")
            elif rule.literals and any(lit.lower() in request.lower() for lit in rule.literals):
                hit = "names " + ", ".join(lit for lit in rule.literals if lit.lower() in request.lower())
            if not hit:
                continue
            if rule.y and rule.condition <= found:
                continue  # the request itself meets the condition ("citing the verified source")
            if rule.y and self._decided(request, rule, orgs):
                continue
            condition = f" without {rule.y}" if rule.y else ""
            action = (f"Escalate to {self.owner} (`tether ctx escalate`), or meet the condition: {rule.y}"
                      if rule.y else "Request denied: remove it from the request")
            return Verdict(False, f"The request {hit}{condition}", f"boundary: {rule.text}", action)
        return None

    def _decided(self, request: str, rule: Prohibition, orgs: list[str]) -> bool:
        """An affirmative decision names every organisation, or every figure, the request uses."""
        approvals = [a.lower() for a in self.approvals]
        if not approvals:
            return False
        if rule.names and orgs:
            return all(any(re.search(r"(?<!\w)" + re.escape(org) + r"(?!\w)", a) for a in approvals) for org in orgs)
        if rule.names:
            return False
        figures = {n.strip(".,") for n in _NUMBER.findall(request)}
        approved = {n.strip(".,") for a in approvals for n in _NUMBER.findall(a)}
        return bool(figures) and figures <= approved

    def objective_rule(self, stems: set[str], channels: set[str]):
        for objective in self.objectives + [self.description]:
            terms = content_stems(objective) - {stem(v) for v in VERBISH}
            objective_channels = {n for n, _, _ in mentions(objective, self.vocab["channels"])}
            shared = (terms & stems) | (objective_channels & channels)
            if shared:
                label = "objective" if objective != self.description else "task"
                return Verdict(True, f"Serves the {label} \"{objective}\" (shares: {', '.join(sorted(shared))})",
                               f"{label}: {objective}", "Proceed")
        allowed_channels = set().union(*(a for _, k, a in self.only if k == "channels")) if self.only else set()
        if channels & allowed_channels:
            return Verdict(True, f"Content for an allowed channel ({', '.join(sorted(channels))})",
                           "boundary: allowed channels", "Proceed")
        return Verdict(False, "The request serves none of the task's objectives", "objectives",
                       "Request denied. Create a separate task if needed.")


def check(doc: dict, request: str) -> Verdict:
    if not request or not request.strip():
        from ..errors import InvalidInput

        raise InvalidInput("the request is empty", hint='tether ctx check-scope "Also create a YouTube video script"')
    if (doc.get("campaign") or {}).get("status") == "closed":
        return Verdict(False, "The campaign is closed", "campaign.status", "Open a new session context")
    rules = Rules(doc)
    request = " ".join(request.split())
    verdict = rules.ask_owner(request)
    if verdict:
        return verdict
    found = _concepts(request, rules.concepts)
    channel_mentions = mentions(request, rules.vocab["channels"])
    channels = {n for n, _, _ in channel_mentions}
    stems = content_stems(request)
    kind_spans = [(s, e) for kind in rules.vocab.values() for _, s, e in mentions(request, kind)]
    orgs = rules.names.orgs(request, kind_spans)
    if "partner" not in found and any(o in rules.names.third_parties for o in orgs):
        found = found | {"partner"}
    for verdict in (rules.out_of_scope_rule(request, found, channels, stems), rules.only_rule(request),
                    rules.prohibition_rule(request, found, orgs)):
        if verdict:
            return verdict
    return rules.objective_rule(stems, channels)
