"""The core prompt-injection families in twelve languages (RE2 syntax), appended to the English
families of :mod:`.injection_patterns`.

Languages: Spanish, French, German, Portuguese, Italian, Russian, Chinese, Japanese, Arabic,
Hindi, Korean, Turkish. Families: ``IGNORE`` (ignore / forget the previous instructions, or
declare them void), ``NEW`` (new system instructions announced), ``ROLE`` (the reader is now
an assistant / agent without rules), ``REVEAL`` (show the system prompt or hidden
instructions), ``EXFIL`` (forward the mailbox, send passwords or keys out) and ``SECRECY``
(do not tell the user).

:data:`RULE_PATTERNS` maps each family to the rule it fires. The scorer matches them as a
set of their own (one more linear pass): compiled into the same RE2 set as the English
families, the set's automaton grew so much that matching slowed down eightfold.

Like the English families they need the *structure* of an attack on the reader, not its
vocabulary: an override verb together with what is overridden (instructions, rules, prompt)
and a word that makes them the reader's earlier ones (all, previous, your, system); a role
change needs an AI/assistant/no-rules noun. "Please ignore the previous invoice" or "from now
on you are the contact person" in any of these languages does not match. RE2's ``\\b`` and
``\\w`` are ASCII-only, so non-Latin scripts use no word boundaries and ``\\S`` for endings.
"""

from __future__ import annotations


def _alt(*parts: str) -> str:
    return "|".join(parts)


_VOID = (
    r"(?:ya\s+no\s+(?:son\s+válidas|valen|aplican|cuentan)|quedan\s+anuladas|(?:já\s+)?não\s+valem"
    r"\s+mais|foram\s+anuladas|ne\s+comptent\s+plus|sont\s+annulées|ne\s+s'appliquent\s+plus|"
    r"non\s+valgono\s+più|sono\s+annullate|gelten\s+nicht\s+mehr|sind\s+(?:ungültig|aufgehoben|"
    r"außer\s+Kraft))"
)

# after the overridden instructions: the end of the clause or "and ...", not a qualifier that
# makes them someone's concrete instructions ("... sull'orario", "... del manual")
_TAIL = (
    r"(?:\s*(?:[.,;:!?)»\"'”]|$)|\s+(?:y|e|ed|et|und|o|ou|oder|ma|mas|pero|mais|aber|sondern|"
    r"que|che|qui|die|du|tu|ti|te|dir|dich|você|lo|y\s+(?:ahora|responde|di|haz)|et\s+(?:réponds|dis))\b)"
)

# the same for Russian (no \\b outside ASCII): not "... инструкции по оплате" (on payment)
_RU_TAIL = (
    r"(?:\s*(?:[.,;:!?)»\"'”—]|$)|\s*\n|\s+(?:и|а|но|или|тебе|тебя|вам|вас|теперь|сейчас|выше|"
    r"которые|что)(?:\s|[.,;:!?]|$))"
)

# --- ignore / forget the previous instructions ---------------------------------------------
IGNORE = _alt(
    # es / pt: verb [todas las | tus] noun [anteriores ...]
    r"(?i)\b(?:ignora|ignore|ignorad|ignorar|olvida|olvide|olvidad|olvidar|esquece|esqueça|"
    r"descarta|descarte|desconsidera|desconsidere|omite|omita)\s+(?:todas?\s+|todos\s+)?"
    r"(?:las|los|as|os|tus|tuas|suas|sus)?\s*(?:\S+\s+){0,2}?(?:instrucciones|instrucción|"
    r"indicaciones|órdenes|reglas|directrices|normas|instruções|instrução|orientações|regras|"
    r"ordens|diretrizes|comandos)\s+(?:\S+\s+){0,1}?(?:anteriores|previas|previos|prévias|"
    r"originales|originais|iniciales|iniciais|del\s+sistema|do\s+sistema|de\s+arriba|acima)"
    + _TAIL,
    r"(?i)\b(?:ignora|ignore|olvida|olvide|esquece|esqueça|desconsidere)\s+(?:todas\s+(?:las|as|"
    r"tus|suas)|tus|tuas)\s+(?:\S+\s+){0,1}?(?:instrucciones|indicaciones|reglas|órdenes|instruções|"
    r"orientações|regras|ordens)",
    # fr
    r"(?i)\b(?:ignore[rz]?|oublie[rz]?|ne\s+tiens?\s+pas\s+compte\s+des|fais\s+abstraction\s+des)"
    r"\s+(?:toutes\s+)?(?:les|tes|vos)?\s*(?:\S+\s+){0,1}?(?:instructions|consignes|règles|"
    r"directives|ordres)\s+(?:\S+\s+){0,1}?(?:précédentes|antérieures|ci-dessus|initiales|"
    r"d'origine|du\s+système|système)" + _TAIL,
    r"(?i)\b(?:ignore[rz]?|oublie[rz]?)\s+(?:toutes\s+(?:les|tes)|tes)\s+(?:\S+\s+){0,1}?"
    r"(?:instructions|consignes|règles|directives|ordres)",
    # it
    r"(?i)\b(?:ignora(?:re)?|dimentica(?:re)?|trascura|scorda|non\s+considerare)\s+(?:tutte\s+)?"
    r"(?:le|tue)?\s*(?:\S+\s+){0,1}?(?:istruzioni|regole|direttive|ordini|indicazioni|comandi)\s+"
    r"(?:\S+\s+){0,1}?(?:precedenti|di\s+sistema|del\s+sistema|iniziali|originali|sopra)" + _TAIL,
    r"(?i)\b(?:ignora|dimentica)\s+(?:tutte\s+le|le\s+tue|tutte\s+le\s+tue)\s+(?:\S+\s+){0,1}?"
    r"(?:istruzioni|regole|direttive|indicazioni)",
    # de: verb ... (alle|vorherigen|bisherigen|deine ...) noun
    r"(?i)\b(?:ignorier\w*|vergiss|vergesst|missacht\w*|verwirf)\s+(?:\S+\s+){0,3}?(?:alle|"
    r"vorherig\w*|vorig\w*|bisherig\w*|früher\w*|obig\w*|ursprünglich\w*|deine|deinen|system\w*)"
    r"\s+(?:\S+\s+){0,1}?(?:Anweisung\w*|Instruktion\w*|Befehl\w*|Regeln|Vorgaben|Richtlinie\w*|"
    r"Anordnung\w*)" + _TAIL,
    # the reader's earlier instructions declared void (es/pt/fr/it/de)
    r"(?i)\b(?:instrucciones|indicaciones|reglas|instruções|orientações|regras|instructions|"
    r"consignes|règles|istruzioni|regole|direttive)\s+(?:anteriores|previas|prévias|précédentes|"
    r"antérieures|precedenti)\s+(?:\S+\s+){0,1}?" + _VOID,
    r"(?i)\b(?:tus|tuas|suas|tes|tue|le\s+tue|deine|vorherigen|bisherigen|früheren)\s+(?:\S+\s+){0,1}?"
    r"(?:instrucciones|indicaciones|reglas|instruções|orientações|regras|instructions|consignes|"
    r"règles|istruzioni|regole|direttive|Anweisungen|Vorgaben|Regeln|Befehle)\s+(?:\S+\s+){0,1}?"
    + _VOID,
    # ru
    r"(?i)(?:игнорир\S*|проигнорир\S*|забудь\S*|забуд\S*|не\s+обращай\s+внимания\s+на|отбрось)\s+"
    r"(?:\S+\s+){0,2}?(?:предыдущ\S*|прежн\S*|прошл\S*|все\s+|всё\s+|системн\S*|исходн\S*|"
    r"свои\s+|твои\s+|ранее\s+)\s*(?:\S+\s+){0,1}?(?:инструкци\S*|указани\S*|правил\S*|"
    r"команд\S*|распоряжени\S*|директив\S*)" + _RU_TAIL,
    r"(?i)(?:предыдущ\S*|прежн\S*|прошл\S*|стары\S*)\s+(?:инструкци\S*|указани\S*|правил\S*|"
    r"команд\S*)\s+(?:\S+\s+){0,1}?(?:больше\s+не\s+действ\S*|отменен\S*|недействительн\S*|"
    r"аннулирован\S*)",
    # zh (simplified / traditional)
    r"(?:忽略|忽视|忽視|无视|無視|忘掉|忘记|忘記|不要理会|不要理會|抛开|拋開)[^。\n]{0,12}?"
    r"(?:之前|以前|先前|上面|前面|所有|原来|原來|原有|系统|系統)[^。\n]{0,6}?(?:指令|指示|规则|規則|"
    r"命令|提示|设定|設定|要求)",
    r"(?:之前|以前|先前|原来|原來|原有)的?(?:指令|指示|规则|規則|命令)[^。\n]{0,6}?(?:作废|作廢|无效|"
    r"無效|失效|取消)",
    # ja
    r"(?:以前|前|これまで|上記|今まで|すべて|全て|元|システム)の?[^。\n]{0,10}?(?:指示|命令|ルール|"
    r"指令|プロンプト|設定)[^。\n]{0,8}?(?:無視|忘れ|破棄|取り消)",
    r"(?:以前|前|これまで)の?(?:指示|命令|ルール|指令)[^。\n]{0,6}?(?:無効|取り消され)",
    # ar
    r"(?:تجاهل|تجاهلي|تجاهلوا|انس|انسَ|اِنسَ|اترك|لا\s+تلتزم\s+ب)\s*(?:\S+\s+){0,2}?"
    r"(?:التعليمات|تعليمات|الأوامر|أوامر|القواعد|قواعد|التوجيهات|توجيهات|الإرشادات)\s+"
    r"(?:\S+\s+){0,1}?(?:السابقة|الأصلية|القديمة|الماضية|الأولى|النظام)",
    r"(?:الأوامر|التعليمات|القواعد)\s+السابقة\s+(?:\S+\s+){0,1}?(?:لم\s+تعد|ملغاة|باطلة)",
    # hi
    r"(?:पिछल|पहले|सभी|पुरान|मूल|सिस्टम)\S*\s+(?:\S+\s+){0,2}?(?:निर्देश|आदेश|नियम|हिदायत)"
    r"\S*\s+(?:\S+\s+){0,2}?(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल|रद्द|अमान्य|लागू\s+नहीं)",
    # ko
    r"(?:이전|앞의|지금까지|모든|기존|원래|시스템)[^.\n]{0,10}?(?:지시|명령|규칙|지침|프롬프트)"
    r"[^.\n]{0,8}?(?:무시|잊어|잊으|폐기|취소|무효)",
    # tr
    r"(?i)(?:önceki|daha\s+önceki|eski|tüm|bütün|sistem|orijinal)\s+(?:\S+\s+){0,1}?"
    r"(?:talimat\S*|komut\S*|kural\S*|yönerge\S*|emir\S*|emirler\S*)\s+(?:\S+\s+){0,1}?"
    r"(?:yok\s+say\S*|görmezden\s+gel\S*|unut\S*|dikkate\s+alma\S*|geçersiz|iptal)",
)

# --- new / system instructions announced ---------------------------------------------------
NEW = _alt(
    # "new instructions:" announced, as in English
    r"(?i)\b(?:neue\s+Anweisung(?:en)?|nuevas\s+instrucciones|nouvelles\s+instructions|nuove\s+"
    r"istruzioni|novas\s+instruções)\s*:",
    r"(?i)\b(?:nuevas?|nouvelles?|neue|novas?|nuove|nueva|nuovo|nuova)\s+(?:\S+\s+){0,1}?"
    r"(?:instrucciones|instrucción|instructions?|consignes|anweisungen|anweisung|instruções|"
    r"instrução|istruzioni|istruzione|directivas?|directives?)\s+(?:del\s+sistema|du\s+système|"
    r"système|des\s+systems|do\s+sistema|di\s+sistema|del\s+administrador|de\s+l'administrateur)"
    r"|(?i)\b(?:neue\s+Systemanweisung\w*|Systemanweisung\w*\s*:|instrucciones\s+del\s+sistema\s*:|"
    r"instructions?\s+(?:du\s+)?système\s*:|instruções\s+do\s+sistema\s*:|istruzioni\s+di\s+sistema\s*:)",
    r"(?i)\b(?:instrucción|instrucciones|orden|instrução|ordem|directive|consigne|ordre|Anordnung|"
    r"Anweisung|istruzione|ordine|direttiva)\s+(?:prioritari[ao]s?|urgente|vorrangige|prioritaire)\s+"
    r"(?:del|de\s+l'|do|des|dell'|di)\s*(?:administrador|administrateur|Administrators|"
    r"amministratore|sistema|système|Systems)",
    r"(?i)(?:новые|новая)\s+(?:системн\S*\s+)?(?:инструкци\S*|указани\S*|директив\S*)\s*:"
    r"|(?i)системн\S*\s+(?:инструкци\S*|указани\S*)\s*:",
    r"(?:新的?|最新)(?:系统|系統)?(?:指令|指示)\s*[:：]|(?:系统|系統)(?:指令|指示|提示)\s*[:：]",
    r"新しい(?:システム)?(?:指示|命令|指令)\s*[:：]|システム(?:指示|命令|メッセージ)\s*[:：]",
    r"(?:تعليمات|أوامر)\s+(?:نظام\s+)?(?:جديدة|النظام)\s*[:：]",
    r"(?:नए|नई)\s+(?:सिस्टम\s+)?(?:निर्देश|आदेश)\s*[:：]|सिस्टम\s+(?:निर्देश|संदेश)\s*[:：]",
    r"(?:새로운|새)\s*(?:시스템\s*)?(?:지시|명령|지침)\s*[:：]|시스템\s*(?:지시|명령|메시지)\s*[:：]",
    r"(?i)(?:yeni\s+(?:sistem\s+)?(?:talimat\S*|komut\S*)|sistem\s+(?:talimat\S*|mesaj\S*))\s*:",
)

# --- the reader is now an assistant / agent without rules ----------------------------------
_AI_ES_FR_IT_PT = (
    r"(?:asistente|assistant|assistente|IA|AI|bot|chatbot|agente|agent|modelo|modèle|modello|"
    r"intelig[eê]ncia\s+artificial|intelligence\s+artificielle|intelligenza\s+artificiale)"
)
ROLE = _alt(
    r"(?i)\b(?:ahora|ya|desde\s+ahora|a\s+partir\s+de\s+ahora)\s+(?:eres|serás|actúas\s+como|"
    r"funcionas\s+como)\s+(?:un|una|el|la)?\s*(?:\S+\s+){0,2}?" + _AI_ES_FR_IT_PT,
    r"(?i)\b(?:agora|a\s+partir\s+de\s+agora)\s+(?:você\s+é|és|tu\s+és|você\s+será|você\s+atua\s+como)\s+"
    r"(?:um|uma|o|a)?\s*(?:\S+\s+){0,2}?" + _AI_ES_FR_IT_PT,
    r"(?i)\b(?:tu\s+es|vous\s+êtes|tu\s+seras)\s+(?:maintenant|désormais|dorénavant)\s+(?:un|une|le|la)?"
    r"\s*(?:\S+\s+){0,2}?" + _AI_ES_FR_IT_PT,
    r"(?i)\b(?:ora|adesso|d'ora\s+in\s+poi|da\s+ora\s+in\s+poi)\s+(?:sei|diventi|agisci\s+come)\s+"
    r"(?:un|una|il|la|l')?\s*(?:\S+\s+){0,2}?" + _AI_ES_FR_IT_PT,
    r"(?i)\b(?:du\s+bist\s+(?:jetzt|nun|ab\s+sofort|ab\s+jetzt)|ab\s+(?:jetzt|sofort)\s+bist\s+du)\s+"
    r"(?:ein|eine|der|die)?\s*(?:\S+\s+){0,2}?(?:Assistent\w*|KI|AI|Bot|Chatbot|Agent\w*|Modell)",
    # role played without rules, any language of the five above
    r"(?i)\b(?:rol|rôle|ruolo|papel|Rolle)\s+(?:de|d'|di|do|eines?)\s*(?:un|una|um|uma|un'|einen?)?\s*"
    r"(?:\S+\s+){0,1}?(?:asistente|assistant|assistente|agente|agent|Agenten|Assistenten|IA|KI|AI|bot)"
    r"\s+(?:\S+\s+){0,2}?(?:sin|sans|senza|sem|ohne|que\s+no\s+tiene|qui\s+n'a|che\s+non\s+ha|que\s+não"
    r"\s+tem|der\s+keine)",
    r"(?i)(?:теперь|отныне|с\s+этого\s+момента)\s+ты\s+(?:\S+\s+){0,3}?(?:ассистент\S*|помощник\S*|"
    r"бот\S*|агент\S*|ИИ|модел\S*|нейросет\S*)",
    r"(?i)(?:ты|вы)\s+(?:\S+\s+){0,2}?(?:играешь|играете|исполняешь)\s+роль\s+(?:\S+\s+){0,1}?"
    r"(?:ассистент\S*|агент\S*|бот\S*|ИИ)",
    r"(?:你现在是|你現在是|从现在开始你是|從現在開始你是|现在你是|你扮演|你将扮演|你將扮演|扮演一个|扮演一個)"
    r"[^。\n]{0,20}?(?:助手|助理|机器人|機器人|代理|人工智能|AI|模型)",
    r"(?:あなたは今から|今からあなたは|あなたはこれから|これからあなたは)[^。\n]{0,20}?"
    r"(?:アシスタント|ボット|エージェント|AI|モデル)"
    r"|(?:アシスタント|ボット|エージェント|AI)として(?:振る舞|ふるま|行動)",
    r"(?:أنت\s+الآن|من\s+الآن\s+فصاعدا\s+أنت|من\s+هذه\s+اللحظة)\s+(?:\S+\s+){0,3}?"
    r"(?:مساعد|وكيل|بوت|روبوت|ذكاء\s+اصطناعي|نموذج)",
    r"(?:अब\s+(?:से\s+)?तुम|अब\s+आप|इस\s+क्षण\s+से\s+तुम)\s+(?:\S+\s+){0,5}?(?:सहायक|एजेंट|बॉट|"
    r"असिस्टेंट|एआई|AI|मॉडल)",
    r"(?:당신은\s*이제|너는\s*이제|이제\s*당신은|이제\s*너는|지금부터\s*너는|이\s*순간부터\s*너는)"
    r"[^.\n]{0,24}?(?:어시스턴트|봇|에이전트|AI|인공지능|모델|비서)",
    r"(?i)(?:artık|bundan\s+sonra|bu\s+andan\s+itibaren)\s+(?:\S+\s+){0,6}?(?:asistan\S*|ajan\S*|"
    r"bot\S*|yapay\s+zeka\S*|model\S*)",
)

# --- reveal the system prompt / hidden instructions ----------------------------------------
_REVEAL_VERB = (
    r"(?:muestra|muéstrame|revela|revélame|dime|enséñame|imprime|escribe|comparte|mostre|revele|"
    r"diga|escreva|compartilhe|affiche|révèle|montre|dis-moi|donne-moi|écris|mostra|rivela|dimmi|"
    r"scrivi|stampa|zeig|zeige|verrate|verrat|gib|nenne|schreib|покажи|раскрой|выведи|напиши|скажи|"
    r"расскажи|告诉|告訴|输出|輸出|显示|顯示|透露|说出|說出|教えて|出力|表示|見せて|اكشف|اعرض|أظهر|"
    r"أخبرني|बताओ|दिखाओ|बताइए|알려|출력|보여|göster|açıkla|söyle|yaz)"
)
REVEAL = _alt(
    # the system prompt named: a request for it in any context
    r"(?i)\bprompt\s+(?:del\s+sistema|du\s+système|système|do\s+sistema|di\s+sistema)"
    r"|(?i)\b(?:Systemprompt|System-Prompt|prompt\s+de\s+sistema)\b"
    r"|(?i)системн\S*\s+(?:промпт\S*|подсказк\S*)|(?:系统|系統)(?:提示词|提示詞)|システムプロンプト"
    r"|موجه\s+النظام|सिस्टम\s+(?:प्रॉम्प्ट|प्रोम्प्ट)|시스템\s*프롬프트|(?i)sistem\s+istem\S*",
    # system / hidden / secret instructions: only with a verb that asks for them
    r"(?i)" + _REVEAL_VERB + r"[^\n.。]{0,40}?(?:(?:instrucciones|instructions|consignes|"
    r"instruções|"
    r"istruzioni|Anweisungen|Instruktionen|инструкци\S*|указани\S*)\s+(?:del\s+sistema|du\s+"
    r"système|système|do\s+sistema|di\s+sistema|ocult[ao]s|secretas|cachées|secrètes|nascoste|"
    r"segrete|скрыт\S*|секретн\S*|системн\S*)|(?:versteckten|geheimen|System)\s*(?:Anweisung\w*|"
    r"instruktion\w*)|(?:скрыт\S*|секретн\S*|системн\S*)\s+(?:инструкци\S*|указани\S*)"
    r"|(?:隐藏|隱藏|秘密|系统|系統)的?(?:指令|指示)|(?:隠された|秘密の|隠し|システムの?)(?:指示|命令)"
    r"|(?:التعليمات|تعليمات)\s+(?:المخفية|السرية|النظام)|(?:छिप\S*|गुप्त|सिस्टम)\s+(?:हुए\s+)?"
    r"(?:निर्देश|आदेश)|(?:숨겨진|비밀|시스템)\s*(?:지침|지시|명령)|(?:gizli|sistem)\s+(?:talimat\S*|"
    r"komut\S*))",
    r"(?:隐藏|隱藏|秘密|系统|系統)的?(?:指令|指示)[^。\n]{0,10}?(?:告诉|告訴|输出|輸出|显示|透露)"
    r"|(?:隠された|秘密の|隠し|システムの?)(?:指示|命令)[^。\n]{0,10}?(?:教えて|出力|表示|見せて)"
    r"|(?:छिप\S*|गुप्त|सिस्टम)\s+(?:हुए\s+)?(?:निर्देश|आदेश)[^।\n]{0,20}?(?:बताओ|दिखाओ|बताइए)"
    r"|(?:숨겨진|비밀|시스템)\s*(?:지침|지시|명령)[^.\n]{0,10}?(?:알려|출력|보여)"
    r"|(?i)(?:gizli|sistem)\s+(?:talimat\S*|komut\S*)[^.\n]{0,20}?(?:göster|açıkla|söyle|yaz)",
)

# --- forward the mailbox / send passwords and keys out (needs an address or the mailbox) ----
_ADDR = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_SEND_VERB = (
    r"(?:reenvía|reenvia|reenviar|reenvie|encaminhe|encaminha|transfère|transférez|inoltra|"
    r"inoltrare|leite|weiterleiten|manda|envía|envia|envie|envoie|envoyez|invia|schicke|schick|"
    r"sende)"
)
EXFIL = _alt(
    r"(?i)\b" + _SEND_VERB + r"\s+(?:\S+\s+){0,3}?(?:todos\s+los|todas\s+las|todos\s+os|tous\s+les"
    r"|toutes\s+les|tutte\s+le|tutti\s+i|alle)\s+(?:\S+\s+){0,2}?(?:correos|e-?mails?|mails|mensajes|"
    r"mensagens|messages|messaggi|Nachrichten|E-Mails)\s+(?:\S+\s+){0,12}?" + _ADDR,
    r"(?i)\b" + _SEND_VERB + r"\s+(?:\S+\s+){0,3}?(?:contraseñas|senhas|mots\s+de\s+passe|password|"
    r"Passwörter|Kennwörter|claves|chaves|clés|chiavi|Schlüssel|credenciales|credenciais|"
    r"identifiants|credenziali|Zugangsdaten)\s+(?:\S+\s+){0,12}?" + _ADDR,
    r"(?i)(?:перешли|пересылай|отправь|отправляй|перенаправь)\s+(?:\S+\s+){0,6}?(?:письм\S*|"
    r"сообщени\S*|парол\S*|ключ\S*)\s+(?:\S+\s+){0,10}?" + _ADDR,
    r"(?:邮件|郵件|密码|密碼|密钥|密鑰)[^。\n]{0,30}?(?:转发|轉發|发送|發送|发到|發到|寄到)[^。\n]{0,6}?"
    + _ADDR
    + r"|(?:转发|轉發|发送|發送)[^。\n]{0,20}?(?:到|至|给|給)\s*" + _ADDR,
    _ADDR + r"\s*(?:に|へ|宛てに)[^。\n]{0,6}?(?:転送|送信|送って|送付)",
    r"(?:أعد\s+توجيه|حوّل|حول|أرسل|ارسل)\s+(?:\S+\s+){0,6}?(?:رسائل|البريد|كلمات\s+المرور|مفاتيح)"
    r"\s+(?:\S+\s+){0,10}?" + _ADDR,
    _ADDR + r"\s+(?:पर|को)\s+(?:फॉरवर्ड|भेज)\S*",
    _ADDR + r"\s*(?:로|으로|에게)\s*(?:전달|보내|전송|포워드)",
    _ADDR + r"\s+(?:adresine|adresinе)\s+(?:ilet\S*|gönder\S*|yönlendir\S*)",
)

# --- do not tell the user ------------------------------------------------------------------
SECRECY = _alt(
    r"(?i)\b(?:no\s+(?:le\s+)?(?:digas|diga|cuentes|cuente|menciones|mencione|informes|avises)|"
    r"não\s+(?:conte|diga|mencione|informe|avise)|ne\s+(?:dis|dites|mentionne|mentionnez|révèle|"
    r"signale)\s+(?:rien|pas)|non\s+(?:dire|dirlo|menzionare|rivelare|informare))\s+[^\n.]{0,40}?(?:al\s+usuario|a\s+tu\s+usuario|ao\s+usuário|ao\s+utilizador|"
    r"à\s+l'utilisateur|all'utente)"
    r"|(?i)\b(?:sag|sagen\s+Sie|erzähl|verrate|erwähne)\s+(?:dem|der|deinem|deiner)\s+(?:Benutzer|"
    r"Nutzer|Anwender)\w*\s+(?:nichts|kein\s+Wort|nicht)",
    r"(?i)\b(?:(?:el|tu)\s+usuario|o\s+(?:usuário|utilizador)|l'utilisateur|l'utente|der\s+"
    r"(?:Benutzer|Nutzer))\s+(?:no|não|ne|non|darf|soll)\s+(?:debe|deve|pode|doit|dovrà|deve)?\s*"
    r"(?:\S+\s+){0,2}?(?:saber|enterarse|savoir|être\s+au\s+courant|sapere|saperlo|nichts\s+"
    r"erfahren|davon\s+nichts)"
    r"|(?i)\bque\s+(?:tu|el|o)\s+(?:usuario|usuário|utilizador)\s+no\s+se\s+entere",
    r"(?i)(?:не\s+говори|не\s+сообщай|не\s+рассказывай|не\s+упоминай)[^\n.]{0,30}?пользовател\S*"
    r"|(?i)пользовател\S*\s+не\s+должен\s+(?:\S+\s+){0,2}?(?:узнать|знать)",
    r"(?:不要|别|別|不准|不得)(?:告诉|告訴|让|讓)(?:用户|用戶|使用者)",
    r"ユーザー(?:に|には)[^。\n]{0,10}?(?:言わない|伝えない|知らせない|知られない|教えない)",
    r"(?:لا\s+تخبر|لا\s+تبلغ|لا\s+تعلم)\s+المستخدم|(?:يجب\s+ألا|يجب\s+أن\s+لا)\s+يعلم\s+المستخدم",
    r"(?:उपयोगकर्ता|यूज़र|यूजर)\s+(?:\S+\s+){0,6}?(?:मत\s+बताना|मत\s+बताओ|न\s+बताएं|नहीं\s+चलना|"
    r"पता\s+नहीं)",
    r"사용자(?:에게|가)[^.\n]{0,16}?(?:말하지\s*마|알리지\s*마|알게\s*해서는\s*안|알면\s*안)",
    r"(?i)kullanıcı(?:ya|nın)?\s+(?:\S+\s+){0,3}?(?:bahsetme|söyleme|öğrenmemeli|bilmemeli|haber\s+verme)",
)

# the rule each family fires (same ids and points as the English families)
RULE_PATTERNS: dict[str, str] = {
    "PI_IGNORE_INSTRUCTIONS": IGNORE,
    "PI_NEW_INSTRUCTIONS": NEW,
    "PI_ROLE_REASSIGNMENT": ROLE,
    "DX_REVEAL_PROMPT": REVEAL,
    "DX_FORWARD_ALL": EXFIL,
    "PI_SECRECY": SECRECY,
}
