# Writes tests/data/reference/tokenizer_fuzz_vectors.json: 500 seeded random strings encoded by HF
# tokenizers with the kjv-llama tokenizer plus six added tokens using every flag, and with GPT-2's
# ByteLevel(add_prefix_space) pre-tokenizer. Usage: make_fuzz_vectors.py MODEL_DIR OUT_FILE
import json, random, sys
import tokenizers
from tokenizers import AddedToken as A, Tokenizer, pre_tokenizers
t = Tokenizer.from_file(sys.argv[1] + "/tokenizer.json")
t.add_tokens([A("zz", single_word=True, normalized=True), A("<m>", lstrip=True, rstrip=True, normalized=False),
              A(" the", normalized=True), A("Lord", normalized=False), A("ord G", normalized=True),
              A("\xe9", single_word=True, normalized=False)])
g = Tokenizer.from_str(t.to_str())
g.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
P = ["a", "b", "Z", "S", "s", "'", "\u2019", " ", "  ", "\t", "\n", "\r", "\r\n", "1", "23", "4567", ".", ",", "!",
     "-", "_", "(", '"', "\x85", "\xa0", "\u180e", "\u3000", "\u0301", "\u200b", "\u4e2d", "\U0001F600", "\u0661",
     "\xbd", "\xe9", "\u017f", "\u212a", "'S", "'ll", "'Re", "zz", "<m>", " the", "the", "Lord", "ord G", "God",
     "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>", "<|eot_id|>", "<|", "|>", "And ", "unto ", "\ufeff",
     "\u2028", "\x0b", "\U0001D518", "\u0939\u093f", "\x00", "\x7f"]
R = random.Random(7)
S = ["".join(R.choice(P) for _ in range(R.randint(0, 14))) for _ in range(30000)]
def cp():
    while True:
        c = R.choice([R.randrange(0, 0x800), R.randrange(0, 0x3100), R.randrange(0x1F000, 0x1FAFF), R.randrange(0, 0x110000)])
        if not 0xD800 <= c < 0xE000:
            return chr(c)
S += ["".join(cp() for _ in range(R.randint(1, 20))) for _ in range(20000)]
rows = []
for s in S[::100]:
    e = lambda k, special=False: k.encode(s, add_special_tokens=special).ids
    v = {"text": s, "ids_with_bos": e(t, True), "ids_no_special": e(t), "ids_prefix_space": e(g)}
    v["decoded"] = t.decode(v["ids_no_special"], skip_special_tokens=False)
    t.encode_special_tokens = True
    v["ids_no_special_parse"] = e(t)
    t.encode_special_tokens = False
    rows.append(json.dumps(v, ensure_ascii=False))
head = {"tokenizers": tokenizers.__version__, "added_tokens": json.loads(t.to_str())["added_tokens"]}
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write('{"about": %s,\n"strings": [\n%s\n]}\n' % (json.dumps(head, ensure_ascii=False), ",\n".join(rows)))
