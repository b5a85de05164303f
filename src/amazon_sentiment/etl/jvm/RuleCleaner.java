package amazon_sentiment.etl;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.expressions.XXH64;
import org.apache.spark.unsafe.Platform;

/**
 * The shared cleaning rules (amazon_sentiment.text.CLEANING_RULES) applied in one call.
 *
 * <p>This class holds no rule of its own: Python passes the rules' patterns, literal
 * replacements, guards and native forms in, and this applies them in order with
 * java.util.regex, the engine behind Spark's regexp_replace, so it returns exactly what
 * the chain of regexp_replace columns returns. It exists for speed, in three ways:
 *
 * <ul>
 *   <li>the text is decoded from UTF-8 once instead of once per rule;
 *   <li>one scan of the text settles every rule's guards: each character is looked up in
 *       a 128-entry table built once from the guards, whose bits say which rules
 *       <em>may</em> apply (a needle's first character, or its first two as a pair slot;
 *       a character of a needed class; any non-ASCII character, looked up in a second,
 *       full table only for texts that have one). A rule whose bit is clear
 *       cannot change the text and is skipped; about nine texts in ten skip them all. A
 *       rule whose bit is set gets its exact guards (String.indexOf, the needed class
 *       looked up character by character). The scan is redone only when a rule changed
 *       the text;
 *   <li>an anchored rule (every match starts with one of its needles, or with a character
 *       of its needed class) is tried only where one occurs, instead of at every position
 *       of the text as Matcher.replaceAll does: the same matches, since a match cannot
 *       start anywhere else, at a cost that follows the needles, not the text's length.
 * </ul>
 */
public final class RuleCleaner implements UDF1<String, String> {
  private static final long serialVersionUID = 1L;
  private static final int ASCII = 0x80;
  // An ASCII character's prefilter entry: rule bits below FIRST_OF_PAIR, then one bit
  // per pair slot it begins, then one per slot it ends.
  private static final int PAIR_SLOTS = 8;
  private static final int FIRST_OF_PAIR = Long.SIZE - 2 * PAIR_SLOTS;
  private static final int SECOND_OF_PAIR = Long.SIZE - PAIR_SLOTS;
  private static final int PREFILTER_RULES = FIRST_OF_PAIR;
  private static final long RULE_BITS = (1L << FIRST_OF_PAIR) - 1;

  private final String[] patterns;
  private final String[] replacements;
  private final String[][] needles;
  private final boolean[] needsNonAscii;
  private final String[] needsChars;
  private final boolean[] anchored;
  private final boolean[] trimSpaces;
  private transient Pattern[] compiled;
  private transient String[] quotedReplacements; // for Matcher.replaceAll
  private transient boolean[][] neededChars;
  // The one-scan prefilter: bit i of a character's (or an ASCII pair's) entry is set when
  // it may let rule i apply. Rules without such a character (or past PREFILTER_RULES)
  // have no bit in PREFILTERED and always get their exact guards.
  private transient long[] charBits;
  private transient long[] asciiEntries;
  private transient long[] slotBits;
  private transient long prefiltered;

  public RuleCleaner(
      List<String> patterns,
      List<String> replacements,
      List<List<String>> needles,
      List<Boolean> needsNonAscii,
      List<String> needsChars,
      List<Boolean> anchored,
      List<String> natives) {
    int rules = patterns.size();
    this.patterns = patterns.toArray(new String[0]);
    this.replacements = replacements.toArray(new String[0]);
    this.needles = new String[rules][];
    this.needsNonAscii = new boolean[rules];
    this.needsChars = needsChars.toArray(new String[0]);
    this.anchored = new boolean[rules];
    this.trimSpaces = new boolean[rules];
    for (int i = 0; i < rules; i++) {
      this.needles[i] = needles.get(i).toArray(new String[0]);
      this.needsNonAscii[i] = needsNonAscii.get(i);
      this.anchored[i] = anchored.get(i);
      if (this.anchored[i] && this.needles[i].length == 0 && this.needsChars[i].isEmpty()) {
        throw new IllegalArgumentException("anchored rule " + i + " has no needles or characters");
      }
      String nativeForm = natives.get(i);
      if (!nativeForm.isEmpty() && !nativeForm.equals("trim_spaces")) {
        throw new IllegalArgumentException("unknown native operation " + nativeForm);
      }
      this.trimSpaces[i] = nativeForm.equals("trim_spaces");
    }
    compile();
  }

  private void compile() {
    Pattern[] patternsCompiled = new Pattern[patterns.length];
    String[] quoted = new String[patterns.length];
    boolean[][] tables = new boolean[patterns.length][];
    for (int i = 0; i < patterns.length; i++) {
      patternsCompiled[i] = Pattern.compile(patterns[i]);
      quoted[i] = Matcher.quoteReplacement(replacements[i]);
      tables[i] = needsChars[i].isEmpty() ? null : charTable(Pattern.compile(needsChars[i]));
    }
    neededChars = tables;
    quotedReplacements = quoted;
    buildPrefilter(tables);
    compiled = patternsCompiled;
  }

  /** Which of the 65,536 UTF-16 units the character class matches on its own. */
  private static boolean[] charTable(Pattern charClass) {
    boolean[] table = new boolean[Character.MAX_VALUE + 1];
    Matcher matcher = charClass.matcher("");
    for (int c = 0; c <= Character.MAX_VALUE; c++) {
      table[c] = matcher.reset(String.valueOf((char) c)).matches();
    }
    return table;
  }

  /** The prefilter's tables, from each rule's first guard that names characters. */
  private void buildPrefilter(boolean[][] tables) {
    long[] chars = new long[Character.MAX_VALUE + 1];
    long[] ascii = new long[ASCII];
    long[] slots = new long[PAIR_SLOTS];
    int[] slotPair = new int[PAIR_SLOTS];
    int slotsUsed = 0;
    long withBit = 0;
    for (int i = 0; i < patterns.length && i < PREFILTER_RULES; i++) {
      long bit = 1L << i;
      if (needles[i].length > 0) {
        for (String needle : needles[i]) {
          char first = needle.charAt(0);
          int slot = -1;
          if (needle.length() > 1 && first < ASCII && needle.charAt(1) < ASCII) {
            int pair = first * ASCII + needle.charAt(1);
            for (int s = 0; s < slotsUsed && slot < 0; s++) {
              slot = slotPair[s] == pair ? s : -1;
            }
            if (slot < 0 && slotsUsed < PAIR_SLOTS) {
              slot = slotsUsed++;
              slotPair[slot] = pair;
              ascii[first] |= 1L << (FIRST_OF_PAIR + slot);
              ascii[needle.charAt(1)] |= 1L << (SECOND_OF_PAIR + slot);
            }
          }
          if (slot >= 0) {
            slots[slot] |= bit;
          } else { // a single character, or more pairs than slots: its first character
            chars[first] |= bit;
          }
        }
      } else if (tables[i] != null) {
        for (int c = 0; c <= Character.MAX_VALUE; c++) {
          if (tables[i][c]) {
            chars[c] |= bit;
          }
        }
      } else if (needsNonAscii[i]) {
        for (int c = ASCII; c <= Character.MAX_VALUE; c++) {
          chars[c] |= bit;
        }
      } else {
        continue;
      }
      withBit |= bit;
    }
    for (int c = 0; c < ASCII; c++) {
      ascii[c] |= chars[c];
    }
    charBits = chars;
    asciiEntries = ascii;
    slotBits = slots;
    prefiltered = withBit;
  }

  @Override
  public String call(String text) {
    if (text == null) {
      return null;
    }
    if (compiled == null) {
      compile();
    }
    long mayApply = mayApply(text);
    int nonAscii = -1; // unknown until a rule asks; -1 again whenever the text changes
    for (int i = 0; i < compiled.length; i++) {
      String result;
      if (trimSpaces[i]) {
        result = trimSpaces(text);
      } else {
        long bit = i < PREFILTER_RULES ? 1L << i : 0;
        if ((prefiltered & bit) != 0 && (mayApply & bit) == 0) {
          continue;
        }
        if (needsNonAscii[i]) {
          if (nonAscii < 0) {
            nonAscii = hasNonAscii(text) ? 1 : 0;
          }
          if (nonAscii == 0) {
            continue;
          }
        }
        if (anchored[i]) {
          result = replaceAnchored(i, text); // its search for a needle is the exact guard
        } else {
          if (needles[i].length > 0 && !containsAny(text, needles[i])) {
            continue;
          }
          if (neededChars[i] != null && nextOf(text, neededChars[i], 0) < 0) {
            continue;
          }
          result = replaceAll(i, text);
        }
      }
      if (result.length() != text.length() || !result.equals(text)) {
        text = result;
        nonAscii = -1;
        mayApply = mayApply(text);
      }
    }
    return text;
  }

  /**
   * The prefilter's bits for {@code text}: one pass, one lookup in a 128-entry table per
   * character. Each entry holds the rules its character may let apply and, above them,
   * the pair slots it begins or ends; a pair is there when a character ending a slot
   * follows one beginning it. No step waits on the previous lookup, so the loop runs at
   * the speed of its loads. A non-ASCII character reads an ASCII character's entry,
   * which can only add bits; its own come from a second pass, for the texts that have one.
   */
  private long mayApply(String text) {
    long[] ascii = asciiEntries;
    long bits = 0;
    long pairs = 0;
    long previous = 0;
    int any = 0;
    for (int i = 0, n = text.length(); i < n; i++) {
      char c = text.charAt(i);
      any |= c;
      long entry = ascii[c & (ASCII - 1)];
      bits |= entry;
      pairs |= (previous >>> FIRST_OF_PAIR) & (entry >>> SECOND_OF_PAIR);
      previous = entry;
    }
    bits &= RULE_BITS;
    for (int slot = 0; pairs != 0; slot++, pairs >>>= 1) {
      if ((pairs & 1) != 0) {
        bits |= slotBits[slot];
      }
    }
    if (any >= ASCII) {
      long[] chars = charBits;
      for (int i = 0, n = text.length(); i < n; i++) {
        bits |= chars[text.charAt(i)];
      }
    }
    return bits;
  }

  private String replaceAll(int rule, String text) {
    return compiled[rule].matcher(text).replaceAll(quotedReplacements[rule]);
  }

  /**
   * Matcher.replaceAll for a rule whose matches all start where a needle (or a needed
   * character) does: the regex is tried at those positions only, leftmost first, and the
   * search goes on after each match, as replaceAll's does. The region's bounds are
   * transparent and not anchoring, so the pattern sees the whole text around it. Such a
   * match holds its needle, so it is never empty.
   */
  private String replaceAnchored(int rule, String text) {
    Matcher matcher =
        compiled[rule].matcher(text).useTransparentBounds(true).useAnchoringBounds(false);
    int length = text.length();
    StringBuilder out = null;
    int copied = 0;
    int from = 0;
    while (from < length) {
      int at = needles[rule].length > 0
          ? nextOf(text, needles[rule], from)
          : nextOf(text, neededChars[rule], from);
      if (at < 0) {
        break;
      }
      matcher.region(at, length);
      if (matcher.lookingAt() && matcher.end() > at) {
        if (out == null) {
          out = new StringBuilder(length);
        }
        out.append(text, copied, at).append(replacements[rule]);
        copied = matcher.end();
        from = copied;
      } else {
        from = at + 1;
      }
    }
    return out == null ? text : out.append(text, copied, length).toString();
  }

  private static boolean containsAny(String text, String[] needles) {
    for (String needle : needles) {
      if (text.indexOf(needle) >= 0) {
        return true;
      }
    }
    return false;
  }

  /** The first position at or after {@code from} where one of {@code needles} starts. */
  private static int nextOf(String text, String[] needles, int from) {
    int first = -1;
    for (String needle : needles) {
      int at = text.indexOf(needle, from);
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
      }
    }
    return first;
  }

  /** The first position at or after {@code from} holding a character of {@code table}. */
  private static int nextOf(String text, boolean[] table, int from) {
    for (int i = from, n = text.length(); i < n; i++) {
      if (table[text.charAt(i)]) {
        return i;
      }
    }
    return -1;
  }

  private static boolean hasNonAscii(String text) {
    for (int i = 0, n = text.length(); i < n; i++) {
      if (text.charAt(i) >= ASCII) {
        return true;
      }
    }
    return false;
  }

  /** Spark's trim: leading and trailing plain spaces only. */
  private static String trimSpaces(String text) {
    int start = 0;
    int end = text.length();
    while (start < end && text.charAt(start) == ' ') {
      start++;
    }
    while (end > start && text.charAt(end - 1) == ' ') {
      end--;
    }
    return text.substring(start, end);
  }

  /**
   * The cleaned text and its keys in one call: the struct (text, key, ...) where key i is
   * Spark's {@code xxhash64(salt_i, lower(text))} (seed 42), the text keys the ETL
   * otherwise computes in SQL (amazon_sentiment.etl.cleaning.text_key_columns). Lower-cased
   * as Spark's own UTF8String.toLowerCase does (an all-ASCII text byte by byte, any other
   * with String.toLowerCase, as that method does) and hashed with Spark's XXH64, on the text
   * the cleaner already holds, so the text is decoded once for cleaning and keys alike.
   */
  public static final class WithKeys implements UDF1<String, Row> {
    private static final long serialVersionUID = 1L;
    private static final long SPARK_HASH_SEED = 42L;

    private final RuleCleaner cleaner;
    private final long[] saltSeeds;

    public WithKeys(RuleCleaner cleaner, List<String> salts) {
      this.cleaner = cleaner;
      this.saltSeeds = new long[salts.size()];
      for (int i = 0; i < saltSeeds.length; i++) {
        saltSeeds[i] = hash(salts.get(i).getBytes(StandardCharsets.UTF_8), SPARK_HASH_SEED);
      }
    }

    @Override
    public Row call(String raw) {
      String text = cleaner.call(raw);
      Object[] fields = new Object[saltSeeds.length + 1];
      fields[0] = text;
      byte[] lower = text == null ? null : lowerCase(text);
      for (int i = 0; i < saltSeeds.length; i++) {
        // Spark's xxhash64 of (salt, null) is the salt's hash alone.
        fields[i + 1] = lower == null ? saltSeeds[i] : hash(lower, saltSeeds[i]);
      }
      return RowFactory.create(fields);
    }

    /**
     * The bytes of UTF8String.fromString(text).toLowerCase(): an all-ASCII text lower-cased
     * byte by byte, as that method does; any other with String.toLowerCase, as its slow
     * path does, without first encoding the text only to decode it again.
     */
    private static byte[] lowerCase(String text) {
      byte[] ascii = lowerAscii(text);
      return ascii != null ? ascii : text.toLowerCase().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * An all-ASCII text's bytes lower-cased (A-Z to a-z, without a Character.toLowerCase
     * call per byte), else null. One branch-free pass; the check for a non-ASCII character
     * comes at the end.
     */
    private static byte[] lowerAscii(String text) {
      int n = text.length();
      byte[] out = new byte[n];
      int any = 0;
      for (int i = 0; i < n; i++) {
        int c = text.charAt(i);
        any |= c;
        out[i] = (byte) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
      }
      return any < ASCII ? out : null;
    }

    private static long hash(byte[] bytes, long seed) {
      return XXH64.hashUnsafeBytes(bytes, Platform.BYTE_ARRAY_OFFSET, bytes.length, seed);
    }
  }
}
