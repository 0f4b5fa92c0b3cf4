"""団体内統合宛名 (the addressee master): every party a business area deals with has one 宛名番号
— residents from the register, and 住登外者 (people not in the register, corporations)
numbered from the same series — with, per business area, where to send mail (送付先), who
acts for them (代理人・代納人) and their bank accounts (口座)."""
