//! The strings `netsh winhttp show proxy` prints, per Windows display language.
//!
//! Only strings seen in public material are listed (captures, test fixtures of tools that parse
//! real output, localized documentation quoting the output); `docs/languages.md` names the
//! source of each. Languages not listed rely on the structural fallback in [`super::netsh`].

/// The messages of one display language.
pub struct NetshLanguage {
    /// BCP 47 tag (`zh-CN`), or a bare language when the region is not known (`pt`).
    pub code: &'static str,
    /// The settings header without its colon (`Current WinHTTP proxy settings`).
    pub headers: &'static [&'static str],
    /// The direct-access line without its final period.
    pub direct: &'static [&'static str],
    /// Labels of the proxy line (before the colon).
    pub proxy_labels: &'static [&'static str],
    /// Labels of the bypass line.
    pub bypass_labels: &'static [&'static str],
    /// What the bypass line shows when there is no list.
    pub none_words: &'static [&'static str],
}

/// Every language whose strings were found; English first.
pub const LANGUAGES: &[NetshLanguage] = &[
    NetshLanguage {
        code: "en",
        headers: &[
            "Current WinHTTP proxy settings",
            "Current WinHTTP advanced proxy settings",
        ],
        direct: &["Direct access (no proxy server)"],
        proxy_labels: &["Proxy Server(s)"],
        bypass_labels: &["Bypass List"],
        none_words: &["(none)"],
    },
    NetshLanguage {
        code: "de",
        headers: &["Aktuelle WinHTTP-Proxyeinstellungen"],
        direct: &["Direkter Zugriff (kein Proxyserver)"],
        proxy_labels: &["Proxyserver", "Proxyserver(s)"],
        bypass_labels: &["Umgehungsliste", "Verbindungen, die die Proxyliste umgehen"],
        none_words: &["(keine)"],
    },
    NetshLanguage {
        code: "fr",
        headers: &[
            "Paramètres de proxy WinHTTP actuels",
            "Paramètres actuels du proxy WinHTTP",
        ],
        direct: &["Accès direct (pas de serveur proxy)"],
        proxy_labels: &["Serveur(s) proxy"],
        bypass_labels: &["Liste de contournement"],
        none_words: &["(aucun)", "(aucune)"],
    },
    NetshLanguage {
        code: "es",
        headers: &["Configuración actual de proxy de WinHTTP"],
        direct: &["Acceso directo (sin servidor proxy)"],
        proxy_labels: &["Servidores proxy"],
        bypass_labels: &["Lista de omisión"],
        none_words: &["(ninguno)"],
    },
    NetshLanguage {
        code: "ja",
        headers: &["現在の WinHTTP プロキシ設定"],
        direct: &["直接アクセス (プロキシ サーバーなし)"],
        proxy_labels: &["プロキシ サーバー"],
        bypass_labels: &["バイパス一覧"],
        none_words: &["(なし)"],
    },
    NetshLanguage {
        code: "zh-CN",
        headers: &["当前的 WinHTTP 代理服务器设置"],
        direct: &["直接访问(没有代理服务器)"],
        proxy_labels: &["代理服务器"],
        bypass_labels: &["绕过列表"],
        none_words: &["(无)"],
    },
    NetshLanguage {
        code: "ru",
        headers: &[
            "Текущие параметры прокси WinHTTP",
            "Текущие параметры прокси-сервера WinHTTP",
        ],
        direct: &["Прямой доступ (без прокси-сервера)"],
        proxy_labels: &["Сервер(ы) прокси", "Прокси-сервер"],
        bypass_labels: &["Список исключений"],
        none_words: &["(нет)"],
    },
    NetshLanguage {
        code: "ko",
        headers: &[],
        direct: &["직접 액세스(프록시 서버 없음)"],
        proxy_labels: &[],
        bypass_labels: &[],
        none_words: &[],
    },
    NetshLanguage {
        code: "pt-BR",
        headers: &["Configurações de proxy WinHTTP atuais"],
        direct: &["Acesso direto (sem servidor proxy)"],
        proxy_labels: &[],
        bypass_labels: &[],
        none_words: &[],
    },
    NetshLanguage {
        code: "pt",
        headers: &[],
        direct: &["Acesso direto (nenhum servidor proxy)"],
        proxy_labels: &[],
        bypass_labels: &[],
        none_words: &[],
    },
];

/// Languages the issue asks for whose strings were not found in public material.
pub const UNCONFIRMED: &[&str] = &["cs", "hu", "it", "nl", "pl", "pt-PT", "sv", "tr", "zh-TW"];

/// Comparison form: lowercase, without whitespace, full-width punctuation folded, so that
/// `直接访问(没有代理服务器)。` and pastes that lost or gained blanks still match.
pub fn squash(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| !c.is_whitespace()) {
        let c = match c {
            '（' => '(',
            '）' => ')',
            '：' => ':',
            _ => c,
        };
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// One message in comparison form, with the language it belongs to.
struct Squashed {
    text: String,
    lang: &'static NetshLanguage,
}

/// The tables in comparison form, built once (netsh captures can have many lines).
struct Tables {
    headers: Vec<Squashed>,
    direct: Vec<Squashed>,
    proxy_labels: Vec<Squashed>,
    bypass_labels: Vec<Squashed>,
    none_words: Vec<String>,
}

/// Builds the message tables now (see [`crate::pipeline::warm_up`]).
pub fn warm_up() {
    std::sync::LazyLock::force(&TABLES);
}

static TABLES: std::sync::LazyLock<Tables> = std::sync::LazyLock::new(|| {
    let collect = |pick: fn(&'static NetshLanguage) -> &'static [&'static str]| {
        LANGUAGES
            .iter()
            .flat_map(|lang| {
                pick(lang).iter().map(move |m| Squashed {
                    text: squash(m),
                    lang,
                })
            })
            .collect::<Vec<_>>()
    };
    Tables {
        headers: collect(|l| l.headers),
        direct: collect(|l| l.direct),
        proxy_labels: collect(|l| l.proxy_labels),
        bypass_labels: collect(|l| l.bypass_labels),
        none_words: LANGUAGES
            .iter()
            .flat_map(|l| l.none_words.iter().map(|n| squash(n)))
            .collect(),
    }
});

/// The language whose header starts `squashed` (a line already passed through [`squash`]).
pub fn header_language(squashed: &str) -> Option<&'static NetshLanguage> {
    TABLES
        .headers
        .iter()
        .find(|m| squashed.starts_with(&m.text))
        .map(|m| m.lang)
}

/// The language whose direct-access line starts `squashed`.
pub fn direct_language(squashed: &str) -> Option<&'static NetshLanguage> {
    TABLES
        .direct
        .iter()
        .find(|m| squashed.starts_with(&m.text))
        .map(|m| m.lang)
}

/// Which label a `label : value` line carries: `Some(true)` proxy, `Some(false)` bypass.
pub fn label_role(label: &str) -> Option<(bool, &'static NetshLanguage)> {
    let l = squash(label);
    if let Some(m) = TABLES.proxy_labels.iter().find(|m| m.text == l) {
        return Some((true, m.lang));
    }
    TABLES
        .bypass_labels
        .iter()
        .find(|m| m.text == l)
        .map(|m| (false, m.lang))
}

/// True when `value` is one of the "no list" words of any language (or empty).
pub fn is_none_word(value: &str) -> bool {
    let v = squash(value);
    v.is_empty() || TABLES.none_words.contains(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squash_folds_blanks_case_and_full_width() {
        assert_eq!(
            squash(" Direct Access (No proxy) "),
            "directaccess(noproxy)"
        );
        assert_eq!(
            squash("直接访问（没有代理服务器）"),
            "直接访问(没有代理服务器)"
        );
    }

    #[test]
    fn every_language_has_a_direct_line() {
        assert!(LANGUAGES.iter().all(|l| !l.direct.is_empty()));
    }
}
