#!/usr/bin/env python3
"""Converts ErrorId raise sites in src/ from string literals to entries of the ErrorId catalogue (TalosErrors).

    python3 tools/convert-errorids.py            # every src/**/*.cs except the catalogue and DEFERRED
    python3 tools/convert-errorids.py FILE...    # only these files (DEFERRED ones included, when named)

Idempotent: a converted file has nothing left that the rules match, so a second run changes nothing. The ids and the
member names are read from src/TalosImage.Core/Common/TalosErrors.cs. What it rewrites:
  new TalosException("X", TalosErrorKind.K, ...)     -> new TalosException(TalosErrors.X, ...)   (the kind is the entry's)
  new("X", TalosErrorKind.K, ...), : base("X", ...)  -> new(TalosErrors.X, ...), : base(TalosErrors.X, ...)
  new TalosException(c ? "X" : "Y", TalosErrorKind.K, ...) -> new TalosException(c ? TalosErrors.X : TalosErrors.Y, ...)
  new TalosException("X", e.Kind, ...)              -> new TalosException(TalosErrors.X.Caused(e.Kind), ...)
  new TalosException(e.ErrorId, e.Kind, ...)        -> new TalosException(TalosErrors.Get(e.ErrorId, e.Kind), ...)
  new TalosException(id, PublishErrors.KindOf(id), ...) -> new TalosException(TalosErrors.Get(id), ...)
  new TalosException("Http" + code, kind, ...)       -> new TalosException(TalosErrors.Http(code), ...), and the
                                                        `var kind = code switch { ... }` before it goes
  "Unexpected" + char.ToUpperInvariant(s[0]) + s.Substring(1) + "Error" -> TalosErrors.Unexpected(s).Id
  new PositionFailure(o, p, "X", m, TalosErrorKind.K) -> new PositionFailure(o, p, TalosErrors.X.Id, m, TalosErrors.X.Kind)
  x.ErrorId is "X" or "Y"                            -> x.Is(TalosErrors.X, TalosErrors.Y)
  any other literal "X" that is a catalogue id       -> TalosErrors.X.Id   (not on comment lines)
and adds `using TalosImage.Core;` where a file outside that namespace now needs it, and deletes
src/TalosImage.Core/Publishing/PublishErrors.cs once nothing names PublishErrors any more.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
CATALOGUE = os.path.join(SRC, "TalosImage.Core", "Common", "TalosErrors.cs")
PUBLISH_ERRORS = os.path.join(SRC, "TalosImage.Core", "Publishing", "PublishErrors.cs")

# Rewritten by another change of issue 15; converted after that is merged (name them on the command line then).
# tests/unit/Contract/ErrorIdGuardTests.cs allows literals in the same files (ErrorIdSources.NotYetConverted).
DEFERRED = {
    "src/TalosImage.Core/Orders/OrderLoader.cs",
    "src/TalosImage.Core/Orders/YamlInput.cs",
    "src/TalosImage.Core/Orders/Validation.cs",
}

SKIPPED = {
    "src/TalosImage.Core/Common/TalosErrors.cs",
    "src/TalosImage.Core/Common/TalosException.cs",
    "src/TalosImage.Core/Publishing/PublishErrors.cs",
}


def catalogue():
    text = open(CATALOGUE, encoding="utf-8").read()
    ids = dict(re.findall(r'public static readonly TalosError (\w+) = (?:Define|Unreached)\(\s*"([^"]+)"', text))
    return {v: k for k, v in ids.items()}  # id -> member


def convert(text, members):
    idre = "|".join(re.escape(i) for i in sorted(members, key=len, reverse=True) if re.fullmatch(r"\w+", i))
    m = lambda i: "TalosErrors." + members[i]
    kind = r"(?:TalosErrorKind\.\w+|[^,;()]*?\?\s*TalosErrorKind\.\w+\s*:\s*TalosErrorKind\.\w+)"

    # Ids and kinds carried as values.
    text = re.sub(r"new TalosException\((\w+)\.ErrorId,\s*\1\.Kind,", r"new TalosException(TalosErrors.Get(\1.ErrorId, \1.Kind),", text)
    text = re.sub(r"new TalosException\((\w+),\s*PublishErrors\.KindOf\(\1\),", r"new TalosException(TalosErrors.Get(\1),", text)
    text = re.sub(r'new TalosException\("(' + idre + r')",\s*(\w+)\.Kind,',
                  lambda x: f"new TalosException({m(x.group(1))}.Caused({x.group(2)}.Kind),", text)

    # Literal id and kind: the entry decides the kind.
    text = re.sub(r'(new\s+TalosException|(?<![\w.>\]])new|:\s*base)\(\s*"(' + idre + r')"\s*,\s*' + kind + r"(\s*,)",
                  lambda x: f"{x.group(1)}({m(x.group(2))}{x.group(3)}", text)
    text = re.sub(r'new TalosException\(([^;]*?)\?\s*"(' + idre + r')"\s*:\s*"(' + idre + r')"\s*,(\s*)TalosErrorKind\.\w+\s*,[ \t]*',
                  lambda x: f"new TalosException({x.group(1)}? {m(x.group(2))} : {m(x.group(3))},{x.group(4)}", text)
    # A failure recorded as values: the id and its kind both from the entry.
    text = re.sub(r'(new PositionFailure\([^;]*?)"(' + idre + r')"(,[^;]*?,\s*)TalosErrorKind\.\w+\)',
                  lambda x: f"{x.group(1)}{m(x.group(2))}.Id{x.group(3)}{m(x.group(2))}.Kind)", text)

    # The computed families.
    before = text
    text = re.sub(r'new TalosException\("Http"\s*\+\s*(\w+),\s*\w+,', r"new TalosException(TalosErrors.Http(\1),", text)
    if text != before:
        block = re.search(r"\n[ \t]*var kind = \w+ switch\s*\{[^}]*TalosErrorKind[^}]*\};[ \t]*(?=\n)", text)
        if block and len(re.findall(r"\bkind\b", text.replace(block.group(0), ""))) == 0:
            text = text.replace(block.group(0), "")
    text = re.sub(r'"Unexpected"\s*\+\s*char\.ToUpperInvariant\((\w+)\[0\]\)\s*\+\s*\1\.Substring\(1\)\s*\+\s*"Error"',
                  r"TalosErrors.Unexpected(\1).Id", text)

    # Comparisons.
    text = re.sub(r'([\w.]+)\.ErrorId is ("(?:' + idre + r')"(?:\s+or\s+"(?:' + idre + r')")*)',
                  lambda x: x.group(1) + ".Is(" + ", ".join(m(i) for i in re.findall(r'"(\w+)"', x.group(2))) + ")", text)

    # Every other literal id, outside comment lines.
    def literal(line):
        if line.lstrip().startswith(("//", "*", "/*")):
            return line
        return re.sub(r'(?<![\w@$"])"(' + idre + r')"(?!")', lambda x: m(x.group(1)) + ".Id", line)

    text = "\n".join(literal(line) for line in text.split("\n"))
    return text


def ensure_using(text):
    if "TalosErrors." not in text:
        return text
    ns = re.search(r"^namespace\s+([\w.]+)", text, re.M)
    if ns and (ns.group(1) == "TalosImage.Core" or ns.group(1).startswith("TalosImage.Core.")):
        return text
    if re.search(r"^using TalosImage\.Core;", text, re.M):
        return text
    usings = list(re.finditer(r"^using [\w.]+;[ \t]*$", text, re.M))
    if usings:
        at = usings[-1].end()
        return text[:at] + "\nusing TalosImage.Core;" + text[at:]
    return "using TalosImage.Core;\n" + text


def files(args):
    if args:
        return [os.path.abspath(a) for a in args]
    found = []
    for dirpath, dirnames, filenames in os.walk(SRC):
        dirnames[:] = sorted(d for d in dirnames if d not in ("bin", "obj"))
        for f in sorted(filenames):
            if f.endswith(".cs"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
                if rel not in DEFERRED:
                    found.append(path)
    return found


def main(args):
    members = catalogue()
    changed = 0
    for path in files(args):
        rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
        if rel in SKIPPED:
            continue
        with open(path, encoding="utf-8", newline="") as f:
            original = f.read()
        crlf = "\r\n" in original
        text = original.replace("\r\n", "\n")
        text = ensure_using(convert(text, members))
        if crlf:
            text = text.replace("\n", "\r\n")
        if text != original:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            print("converted " + rel)
            changed += 1
    if os.path.exists(PUBLISH_ERRORS):
        named = False
        for dirpath, dirnames, filenames in os.walk(SRC):
            dirnames[:] = [d for d in dirnames if d not in ("bin", "obj")]
            for f in filenames:
                p = os.path.join(dirpath, f)
                if f.endswith(".cs") and p != PUBLISH_ERRORS and "PublishErrors" in open(p, encoding="utf-8").read():
                    named = True
        if not named:
            os.remove(PUBLISH_ERRORS)
            print("deleted " + os.path.relpath(PUBLISH_ERRORS, ROOT).replace(os.sep, "/"))
            changed += 1
    print(f"{changed} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
