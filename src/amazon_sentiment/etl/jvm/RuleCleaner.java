package amazon_sentiment.etl;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.api.java.UDF1;

/**
 * The shared cleaning rules (amazon_sentiment.text.CLEANING_RULES) applied in one call.
 *
 * <p>This class holds no rule of its own: Python passes the rules' patterns, literal
 * replacements, guards and native forms in, and this applies them in order with
 * java.util.regex, the engine behind Spark's regexp_replace, so it returns exactly what
 * the chain of regexp_replace columns returns. It exists for speed: the text is decoded
 * from UTF-8 once instead of once per rule, and the guards are String.indexOf calls, one
 * scan for non-ASCII characters (redone only after a rule changed the text) and, for a
 * rule's needed characters, a lookup of each character in a table built once from the
 * rule's class: a tenth of the cost of finding the class with the regex engine.
 */
public final class RuleCleaner implements UDF1<String, String> {
  private static final long serialVersionUID = 1L;

  private final String[] patterns;
  private final String[] replacements;
  private final String[][] needles;
  private final boolean[] needsNonAscii;
  private final String[] needsChars;
  private final boolean[] trimSpaces;
  private transient Pattern[] compiled;
  private transient boolean[][] neededChars;

  public RuleCleaner(
      List<String> patterns,
      List<String> replacements,
      List<List<String>> needles,
      List<Boolean> needsNonAscii,
      List<String> needsChars,
      List<String> natives) {
    int rules = patterns.size();
    this.patterns = patterns.toArray(new String[0]);
    this.replacements = new String[rules];
    this.needles = new String[rules][];
    this.needsNonAscii = new boolean[rules];
    this.needsChars = needsChars.toArray(new String[0]);
    this.trimSpaces = new boolean[rules];
    for (int i = 0; i < rules; i++) {
      this.replacements[i] = Matcher.quoteReplacement(replacements.get(i));
      this.needles[i] = needles.get(i).toArray(new String[0]);
      this.needsNonAscii[i] = needsNonAscii.get(i);
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
    boolean[][] tables = new boolean[patterns.length][];
    for (int i = 0; i < patterns.length; i++) {
      patternsCompiled[i] = Pattern.compile(patterns[i]);
      tables[i] = needsChars[i].isEmpty() ? null : charTable(Pattern.compile(needsChars[i]));
    }
    neededChars = tables;
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

  @Override
  public String call(String text) {
    if (text == null) {
      return null;
    }
    if (compiled == null) {
      compile();
    }
    int nonAscii = -1; // unknown until a rule asks; -1 again whenever the text changes
    for (int i = 0; i < compiled.length; i++) {
      if (trimSpaces[i]) {
        text = trimSpaces(text);
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
      if (needles[i].length > 0 && !containsAny(text, needles[i])) {
        continue;
      }
      if (neededChars[i] != null && !containsAnyOf(text, neededChars[i])) {
        continue;
      }
      String replaced = compiled[i].matcher(text).replaceAll(replacements[i]);
      if (!replaced.equals(text)) {
        text = replaced;
        nonAscii = -1;
      }
    }
    return text;
  }

  private static boolean containsAny(String text, String[] needles) {
    for (String needle : needles) {
      if (text.indexOf(needle) >= 0) {
        return true;
      }
    }
    return false;
  }

  private static boolean containsAnyOf(String text, boolean[] table) {
    for (int i = 0, n = text.length(); i < n; i++) {
      if (table[text.charAt(i)]) {
        return true;
      }
    }
    return false;
  }

  private static boolean hasNonAscii(String text) {
    for (int i = 0, n = text.length(); i < n; i++) {
      if (text.charAt(i) >= 0x80) {
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
}
