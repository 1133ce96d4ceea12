"""The purchase-intent lexicon: what buyers, sellers, employers and the done write.

Data only; `leads/intent.py` compiles and applies it. Each signal maps to regex fragments per
language, written in the folded form `leads.intent.fold` produces (lower case, accents, niqqud
and harakat dropped, Arabic hamza seats and ta marbuta folded) — though accents may be kept
when writing a fragment, since the fragments are folded the same way when compiled. Every
fragment is matched on word boundaries. Tuned on `leads/intent_corpus/tune.jsonl` only.
"""

# Positive signals, each with the reason shown on the lead.
WANTS_TO_BUY = "wants to buy"
ASKS_WHO_SELLS = "asks who sells"
ASKS_PRICE = "asks for a price"
ASKS_AVAILABLE = "asks if it is still available"
WANTS_TO_HIRE = "wants to hire someone"

# Signals that a message is not a buyer's, with the reason a manager sees on the second look.
OFFERS = "offers something"
JOB_AD = "a job ad"
NO_LONGER = "no longer looking, or already found"
ADMIN = "a group notice"

POSITIVE: dict[str, dict[str, list[str]]] = {
    ASKS_WHO_SELLS: {
        "en": [
            r"(?:does |do )?any(?:one|body) (?:selling|sell|sells|have|has|got)",
            r"who(?:'s| is)? (?:has|have|got|selling|sells)",
            r"any sellers?",
            r"where can i (?:buy|get|find)",
        ],
        "he": [
            r"(?:ה)?מישהו (?:מוכר|מוכרת|יודע איפה)",
            r"מי מוכר\w*",
            r"יש למישהו",
            r"איפה (?:אפשר )?(?:לקנות|קונים|להשיג)",
        ],
        "ar": [
            r"(?:مين|من|حد|هل يوجد احد|هل في حد|في حد) (?:عنده|عندو|يبيع|بيبيع|بيعرف)",
            r"(?:وين|من اين|اين) (?:بقدر |ممكن |يمكن )?(?:اشتري|الاقي)",
        ],
        "ru": [
            r"кто (?:продает|продаст|отдаст)",
            r"есть у кого(?:-нибудь|-то)?",
            r"у кого (?:есть|нибудь есть)",
            r"где (?:можно )?(?:купить|взять|найти)",
        ],
        "de": [
            r"hat (?:jemand|wer|einer)",
            r"wer verkauft",
            r"wo (?:kann ich|bekomme ich|kriege ich|gibt es)",
        ],
        "es": [
            r"alguien (?:vende|tiene)",
            r"quien (?:vende|tiene)",
            r"donde (?:puedo comprar|consigo|compro|venden)",
        ],
    },
    WANTS_TO_HIRE: {
        "en": [
            r"(?:can |could )?any(?:one|body) (?:recommend|know|suggest)(?:s)? (?:a|an|some)",
            r"recommend (?:a|an) (?:good )?\w+",
        ],
        "he": [r"(?:מישהו|מי) (?:יכול להמליץ|יכולה להמליץ|מכיר|מכירה|ממליץ)"],
        "ar": [r"(?:ممكن )?(?:حد|احد) (?:ينصحني|بيعرف|يعرف)", r"(?:ممكن )?تنصحوني"],
        "ru": [r"посоветуйте", r"подскажите (?:хорошего|хорошую|где|кого)?"],
        "de": [r"kennt (?:jemand|wer)", r"(?:kann )?(?:jemand|wer) \w+ \w+ empfehlen"],
        "es": [r"alguien (?:me )?(?:recomienda|conoce)", r"me recomiendan"],
    },
    ASKS_PRICE: {
        "en": [
            r"how much",
            r"what(?:'s| is) (?:the )?price",
            r"price\?",
            r"what do you want for",
            r"what are you asking",
        ],
        "he": [r"(?:ו)?מה המחיר", r"כמה (?:זה )?(?:עולה|עולים|עולות)", r"בכמה", r"כמה\?"],
        "ar": [
            r"(?:كم|ما|شو|ايش|قديش|ما هو) (?:هو )?(?:ال)?سعر",
            r"بكم",
            r"قديش",
            r"كم\?",
        ],
        "ru": [
            r"сколько (?:стоит|стоят|хотите|просите)",
            r"сколько\?",
            r"за сколько",
            r"почем",
            r"как(?:ая|ова) цена",
            r"цена\?",
        ],
        "de": [
            r"was kostet",
            r"was kosten",
            r"wie ?viel",
            r"was (?:soll|sollen|moechtest|mochtest|willst|wollen sie) .{0,40}(?:kosten|haben)",
            r"preis\?",
        ],
        "es": [r"cuanto", r"que precio", r"a cuanto", r"precio\?"],
    },
    WANTS_TO_BUY: {
        "en": [
            r"(?:looking|want|wanting|wanna|hoping|would like|i'd like) to (?:buy|get|rent)",
            r"looking for",
            r"searching for",
            r"in the market for",
            r"(?:i )?need(?:ed)?",
            r"wtb",
            r"iso",
            r"lf",
            r"cash buyer",
            r"(?:i'm|i am) (?:buying|after)",
            r"interested in",
            r"i'?ll take",
            r"i'?d take",
            r"would love to (?:get|have|buy)",
        ],
        "he": [
            r"(?:אני )?(?:מחפש|מחפשת|מחפשים|מחפשות)",
            r"(?:רוצה|רוצים|אשמח|מעוניין|מעוניינת) (?:לקנות|לשכור|לקחת)",
            r"(?:קונה|קונים)",
            r"(?:צריך|צריכה|צריכים|דרוש לי|דרושה לי)",
            r"(?:מעוניין|מעוניינת|מעוניינים)",
            r"(?:אני )?(?:לוקח|לוקחת)",
        ],
        "ar": [
            r"(?:ا|و)?(?:ابحث|بدور|ندور|بدي|بدنا|اريد|نريد|ارغب|حابب|حابه|محتاج|محتاجه|احتاج|نحتاج)",
            r"(?:مهتم|مهتمه) (?:ب|في)?\w*",
            r"(?:اشتري|نشتري)",
            r"مطلوب",
            r"(?:اخذ|اخذها|اخذه)",
        ],
        "ru": [
            r"(?:ищу|ищем|куплю|купим|сниму|снимем|возьму|беру|заберу)",
            r"(?:хочу|хотим|хотела|хотел бы|хотела бы) (?:купить|приобрести|снять|взять)",
            r"(?:срочно )?(?:нужен|нужна|нужно|нужны)",
            r"интересу(?:ет|ют)",
        ],
        "de": [
            r"(?:ich |wir )?(?:suche|suchen)",
            r"(?:ich )?kaufe",
            r"(?:mochte|will|wollen|moechte) .{0,40}(?:kaufen|mieten|haben)",
            r"(?:ich )?(?:brauche|benotige|brauchen)",
            r"interesse an",
            r"(?:ich )?nehme",
            r"(?:wurde|wuerde) .{0,30}(?:abholen|nehmen|kaufen)",
        ],
        "es": [
            r"(?:busco|buscamos|compro|compramos)",
            r"(?:quiero|queremos|quisiera) (?:comprar|comprarme|alquilar|conseguir)",
            r"(?:necesito|necesitamos)",
            r"me interesa",
            r"me (?:quedo|llevo)",
            r"(?:la|lo) (?:compro|recojo)",
        ],
    },
}

# "Still available?" is a buyer's question only when asked: the same words without a question
# mark are a seller's answer.
AVAILABLE_QUESTION: dict[str, list[str]] = {
    "en": [r"still (?:available|there|for sale|up|selling)", r"is it available"],
    "he": [r"עדיין (?:זמין|זמינה|למכירה|רלוונטי)", r"עוד (?:רלוונטי|זמין|למכירה)"],
    "ar": [r"(?:لا|ما) (?:تزال|زالت|زال|يزال) (?:متوفر|متوفره|للبيع|موجود|موجوده)"],
    "ru": [r"(?:еще|все еще) (?:актуально|актуален|актуальна|продается|есть)", r"актуально"],
    "de": [r"noch (?:zu haben|aktuell|zu verkaufen|da|verfugbar|frei)"],
    "es": [r"(?:sigue|todavia|aun) (?:disponible|lo vendes|la vendes|esta|a la venta)"],
}

NEGATIVE: dict[str, dict[str, list[str]]] = {
    NO_LONGER: {
        "en": [
            r"not (?:looking|interested|needed|searching)",
            r"no longer",
            r"(?:don't|do not|dont) need",
            r"anymore",
            r"found (?:a|one|it|the|someone|him|her)",
            r"bought",
            r"got (?:one|it already)",
            r"already (?:bought|found|got|have|sold)",
            r"stop sending",
            r"sold",
            r"it'?s gone",
        ],
        "he": [
            r"כבר לא",
            r"לא (?:צריך|צריכה|צריכים|מחפש|מחפשת|רלוונטי) (?:יותר|כבר)",
            r"לא צריך יותר",
            r"(?:מצאתי|מצאנו|קניתי|קנינו)",
            r"(?:כבר )?(?:נמכר|נמכרה|נמכרו)",
        ],
        "ar": [
            r"(?:لم|ما) (?:اعد|عاد|عدت|عدنا)",
            r"لا (?:احتاج|نحتاج)",
            r"(?:وجدت|لقيت|لقينا|اشتريت|اشترينا)",
            r"تم البيع",
            r"(?:انباع|انباعت|بيعت)",
        ],
        "ru": [
            r"(?:уже|больше) не",
            r"не нужно",
            r"(?:нашел|нашла|нашли|купил|купила|купили)",
            r"(?:уже )?продан[оаы]?",
        ],
        "de": [
            r"nicht mehr",
            r"(?:gefunden|gekauft)",
            r"verkauft!?",
            r"schon weg",
        ],
        "es": [
            r"ya no",
            r"no lo necesito",
            r"(?:encontre|encontramos|compre)",
            r"ya (?:compramos|tengo|tenemos)",
            r"(?:ya esta )?vendid[oa]",
        ],
    },
    JOB_AD: {
        "en": [
            r"(?:we're|we are|now|is|are) hiring",
            r"hiring",
            r"job (?:opening|offer|ad)",
            r"vacanc(?:y|ies)",
            r"(?:send|sends) (?:your |us your )?(?:cv|resume)",
            r"apply",
            r"(?:full|part)[- ]time",
            r"barista|cashier|waiter|waitress|receptionist|junior developer",
        ],
        "he": [
            r"דרושים|דרושות",
            r"דרוש(?:ה)? (?!לי)\w+",
            r"מגייס\w*",
            r"משרה",
            r"קורות חיים",
            r"מלצר\w*",
            r"נציגי \w+",
        ],
        "ar": [
            r"موظف\w*",
            r"(?:نوظف|توظيف|وظيفه|وظائف)",
            r"فرصه عمل",
            r"السيره الذاتيه",
            r"(?:نادل|مندوب مبيعات)",
            r"للعمل",
        ],
        "ru": [
            r"требу(?:ется|ются)",
            r"ваканси[яи]",
            r"резюме",
            r"официант\w*",
            r"менеджер по продажам",
        ],
        "de": [
            r"wir stellen ein",
            r"stellenangebot",
            r"m/w/d",
            r"bewerbung",
            r"(?:vollzeit|teilzeit)",
            r"kellner\w*",
            r"\w*mitarbeiter\w*",
            r"job:",
        ],
        "es": [
            r"(?:estamos contratando|contratamos)",
            r"se busca",
            r"oferta de empleo",
            r"(?:enviar|envia|manda) (?:tu )?cv",
            r"jornada",
            r"camarer[oa]s?",
        ],
    },
    ADMIN: {
        "en": [r"reminder:", r"group rules", r"pinned message", r"no spam"],
        "he": [r"תזכורת:", r"כללי הקבוצה", r"ההודעה המוצמדת", r"ספאם"],
        "ar": [r"تذكير:", r"قوانين المجموعه", r"الرساله المثبته", r"يمنع"],
        "ru": [r"напоминаю:?", r"правила группы", r"закрепленное сообщение", r"не спамить"],
        "de": [r"erinnerung:", r"gruppenregeln", r"angepinnte nachricht", r"kein(?:en)? spam"],
        "es": [r"recordatorio:", r"normas del grupo", r"mensaje fijado", r"spam"],
    },
    OFFERS: {
        "en": [
            r"(?:i'm |i am |we're )?selling",
            r"for sale",
            r"(?:room|flat|apartment|house|office) for rent",
            r"renting out",
            r"price drop",
            r"must go",
            r"(?:i|we) (?:fix|repair|offer|sell)",
            r"offering",
            r"pick ?up only",
            r"dm if interested",
            r"price is",
            r"price:? \d+",
        ],
        "he": [
            r"(?:מוכר|מוכרת|מוכרים|למכירה|להשכרה|משכיר|משכירה|משכירים)",
            r"(?:מציע|מציעה|מציעים|מתקן|מתקנת)",
            r"(?:ה|ב)?מחיר:? \d+",
            r"איסוף עצמי",
        ],
        "ar": [
            r"(?:ابيع|نبيع|للبيع|للايجار|اوجر|نوجر|اصلح|نصلح|نقدم)",
            r"(?:ب|و)?(?:ال)?سعر:? \d+",
            r"الاستلام",
        ],
        "ru": [
            r"(?:продаю|продам|продается|продаются|сдаю|сдам|сдается|отдам|предлагаю)",
            r"ремонт",
            r"цена:? \d+",
            r"самовывоз",
        ],
        "de": [
            r"(?:verkaufe|verkaufen|vermiete|vermieten|biete|bieten)",
            r"reparatur",
            r"preis:? (?:ist )?\d+",
            r"(?:nur )?abholung",
        ],
        "es": [
            r"(?:vendo|se vende|vendemos|alquilo|se alquila|ofrezco|ofrecemos|reparo|reparamos)",
            r"(?:el )?precio:? (?:es )?\d+",
            r"(?:solo )?recogida",
        ],
    },
}

# Words that make a buyer's wish a wish to rent (the reason then says so).
RENT_WORDS = [
    r"rent",
    r"\w*שכיר\w*",
    r"\w*ايجار",
    r"аренд\w*",
    r"сним\w*",
    r"\w*miete\w*",
    r"alquil\w*",
]

# A buyer's words right after one of these are not a wish: "don't need", "לא צריך",
# "не нужно", "ya compramos" (already bought), "ما بدي".
NEGATORS = frozenset(
    "not no never don't dont already "
    "לא כבר "
    "لا ما لم مش "
    "не уже "
    "nicht kein keine schon "
    "ya nunca".split()
)
